"""Project invariants: the library is pure, the tracking store cannot shadow mlflow."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_library_never_imports_dagster_mlflow_or_matplotlib():
    code = ("import sys, unsup_core.data, unsup_core.training, unsup_core.autoencoders, "
            "unsup_core.serialization, unsup_core.plotting; "
            "print(sorted(m for m in ('dagster', 'mlflow', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_tracking_store_folder_has_no_init():
    assert (REPO / "mlflow").is_dir() and not (REPO / "mlflow" / "__init__.py").exists()
    import mlflow

    assert Path(mlflow.__file__).parent != REPO / "mlflow"
