"""Project invariants: the library is pure (every module of every subpackage), the tracking
store cannot shadow mlflow, the library has no import cycle dodged inside a function."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import unsup_core

REPO = Path(__file__).resolve().parents[1]
LIBRARY = REPO / "unsup_core"


def library_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(unsup_core.__path__, "unsup_core."))


def test_every_library_module_is_covered_and_none_imports_dagster_mlflow_or_matplotlib():
    modules = library_modules()
    packages = {m.split(".")[1] for m in modules}
    assert {
        "autoencoders",
        "competitive",
        "data",
        "distillation",
        "generative",
        "plotting",
        "selfsupervised",
        "stacked",
        "training",
        "transfer",
        "arrays",
        "validation",
        "serialization",
        "evaluation",
        "results",
    } <= packages
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in ('dagster', 'mlflow', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_function_level_imports_of_the_library_inside_the_library():
    """A function-level import of another library module is how a cycle gets hidden."""
    offenders = []
    for path in LIBRARY.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (
                    node.level > 0 or (node.module or "").startswith("unsup_core")
                ):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


def test_tracking_store_folder_has_no_init():
    assert (REPO / "mlflow").is_dir() and not (REPO / "mlflow" / "__init__.py").exists()
    import mlflow

    assert Path(mlflow.__file__).parent != REPO / "mlflow"
