"""Write ``values.json`` next to this script: the golden numbers of ``test_golden.py``.

Run it on purpose, after a change meant to move the numbers (and say why in the commit)::

    .venv/bin/python tests/unsup_core/golden/regenerate.py

The values come from ``golden_values()`` of ``test_golden.py`` (loaded by its file path, as the
tests run with ``--import-mode=importlib`` and the folder is no package), so the script and the
test compute them in exactly one way. The test never writes the file.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEST_MODULE = HERE / "test_golden.py"


def load_test_module():
    """``test_golden.py`` imported from its path under a private module name."""
    spec = importlib.util.spec_from_file_location("_golden_values_source", TEST_MODULE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and typing look modules up by name
    spec.loader.exec_module(module)
    return module


def main() -> None:
    """Compute the golden values and write them, with the versions used, to values.json."""
    import numpy
    import torch

    module = load_test_module()
    values = module.golden_values()
    document = {
        "about": "Golden values of tests/unsup_core/golden/test_golden.py; written only by "
        "regenerate.py (never by the test).",
        "generated_with": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": numpy.__version__,
        },
        "values": values,
    }
    module.GOLDEN_FILE.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(values)} values to {module.GOLDEN_FILE}")


if __name__ == "__main__":
    main()
