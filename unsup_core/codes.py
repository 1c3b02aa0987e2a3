"""The codes a trained network gives the data: what downstream maps and probes look at."""

from __future__ import annotations

import numpy as np
from torch import nn

from .autoencoders.layers import apply_array


def encoder_codes(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, k): ``model.encode(X)`` when the model has an encoder; for a classifier
    whose layers are ``model.net`` (an ``nn.Sequential`` ending in the output layer), the
    activations of its last hidden layer, i.e. the input of the output layer."""
    if hasattr(model, "encode"):
        return apply_array(model, X, "encode")
    net = getattr(model, "net", None)
    if isinstance(net, nn.Sequential) and len(net) > 1:
        return apply_array(net[:-1], X)
    raise TypeError(f"{type(model).__name__} has neither encode() nor a Sequential 'net' with a "
                    "hidden layer; cannot take codes from it")
