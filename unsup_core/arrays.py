"""Any trained network on numpy arrays: its outputs, its codes, its accuracy, its size, and a
fresh untrained copy of it."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def apply_array(model: nn.Module, X, method: str = "forward", batch_size: int = 4096) -> np.ndarray:
    """``getattr(model, method)`` over a numpy array in batches (eval mode, no gradients) on the
    model's device; returns a numpy array. ``method="encode"`` gives codes, ``"forward"``
    reconstructions (or logits), ``"predict"`` class indices."""
    device = next(model.parameters()).device
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    function = getattr(model, method)
    was_training = model.training
    model.eval()
    try:
        return torch.cat(
            [
                function(X[i : i + batch_size].to(device)).cpu()
                for i in range(0, X.shape[0], batch_size)
            ]
        ).numpy()
    finally:
        model.train(was_training)


def encoder_codes(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, k): ``model.encode(X)`` where the model has an encoder (autoencoders,
    pretext models, classifiers: their last hidden layer), else ``model(X)`` (a bare encoder)."""
    return apply_array(model, X, "encode" if hasattr(model, "encode") else "forward")


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """Share of the objects X (n, d) whose ``model.predict`` equals the label y (n,)."""
    return float(np.mean(apply_array(model, X, "predict") == np.asarray(y)))


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (of those with ``requires_grad`` if ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def untrained_like(model: nn.Module) -> nn.Module:
    """The same network, freshly initialised from its config: the ``scratch`` baseline of
    transfer. A network made of parts (``CHILDREN``, e.g. an encoder with a head) is rebuilt
    from fresh copies of its parts, in order, then its own config's remaining fields."""
    if not hasattr(model, "config"):
        raise TypeError(
            f"{type(model).__name__} has no config to rebuild it from; untrained_like "
            "takes the library's networks (built from a dataclass config)"
        )
    children = {
        name: untrained_like(getattr(model, name)) for name in getattr(model, "CHILDREN", ())
    }
    if not children:
        return type(model)(model.config)
    fields = dataclasses.asdict(model.config) if model.config is not None else {}
    return type(model)(**children, **fields)
