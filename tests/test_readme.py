"""The README's library examples run as written (in order, in one fresh process)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_readme_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert len(blocks) >= 3
    script = "import torch\ntorch.set_num_threads(1)\n" + "\n".join(blocks)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "frechet_distance" in done.stdout and "'recon'" in done.stdout
