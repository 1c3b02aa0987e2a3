"""The codes a trained network gives the data: what downstream maps and probes look at."""

from __future__ import annotations

import numpy as np
from torch import nn

from .autoencoders.layers import apply_array


def encoder_codes(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, k): ``model.encode(X)`` where the model has an encoder (autoencoders,
    pretext models, classifiers: their last hidden layer), else ``model(X)`` (a bare encoder)."""
    return apply_array(model, X, "encode" if hasattr(model, "encode") else "forward")
