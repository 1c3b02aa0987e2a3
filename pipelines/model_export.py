"""Registered models as MLflow pyfunc models: the library checkpoint (class, config, weights;
``torch.load(weights_only=True)``) wrapped so that ``mlflow.pyfunc.load_model("models:/<name>@
champion").predict(x)`` works, with a signature and an input example.

``predict`` takes a (n, features) float array or DataFrame of prepared (scaled) features and
returns class probabilities for a classifier, codes for an encoder. The wrapper's class lives
in this package, so load in the project's environment (``pip install -e .``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import torch
from mlflow.models import infer_signature
from torch import nn

from unsup_core.arrays import apply_array, encoder_codes
from unsup_core.serialization import from_checkpoint, to_checkpoint

MODEL_DIR = "mlflow_model"  # beside the checkpoint: <name>/checkpoint.pt, <name>/mlflow_model
CLASSIFIER, ENCODER = "classifier", "encoder"


class CheckpointModel(mlflow.pyfunc.PythonModel):
    """A library model served through pyfunc: ``kind`` "classifier" (softmax of the logits)
    or "encoder" (its codes)."""

    def __init__(self, kind: str) -> None:
        if kind not in (CLASSIFIER, ENCODER):
            raise ValueError(f"kind={kind!r} must be {CLASSIFIER!r} or {ENCODER!r}")
        self.kind = kind
        self.model: nn.Module | None = None

    def load_context(self, context) -> None:
        checkpoint = torch.load(
            context.artifacts["checkpoint"], map_location="cpu", weights_only=True
        )
        self.model = from_checkpoint(checkpoint).eval()

    def predict(self, context, model_input, params=None) -> np.ndarray:
        return outputs(self.model, self.kind, np.asarray(model_input, dtype=np.float32))


def outputs(model: nn.Module, kind: str, X: np.ndarray) -> np.ndarray:
    """What the served model returns for ``X``: class probabilities or codes."""
    if kind == ENCODER:
        return encoder_codes(model, X)
    return torch.softmax(torch.as_tensor(apply_array(model, X)), dim=1).numpy()


def save_pyfunc(model: nn.Module, kind: str, example: np.ndarray, path: Path) -> Path:
    """The model as an MLflow pyfunc directory at ``path`` (its checkpoint inside), with the
    signature inferred from ``example`` and its outputs, and ``example`` as input example."""
    example = np.asarray(example, dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "checkpoint.pt"
        torch.save(to_checkpoint(model), checkpoint)
        mlflow.pyfunc.save_model(
            path,
            python_model=CheckpointModel(kind),
            artifacts={"checkpoint": str(checkpoint)},
            signature=infer_signature(example, outputs(model, kind, example)),
            input_example=example,
            # pinned here: inferring them would load the model in a subprocess (seconds)
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "numpy", "mlflow"],
        )
    return path


__all__ = ["CLASSIFIER", "ENCODER", "MODEL_DIR", "CheckpointModel", "save_pyfunc"]
