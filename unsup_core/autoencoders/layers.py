"""Building blocks shared by the autoencoder family: MLPs, activations, reconstruction losses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

from ..validation import check_choice, choices

Activation = Literal["identity", "relu", "sigmoid", "tanh", "elu", "gelu", "leaky_relu"]
ReconLoss = Literal["mse", "l1", "bce"]
ACTIVATIONS: dict[Activation, type[nn.Module]] = {
    "identity": nn.Identity,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
}
RECON_LOSSES = choices(ReconLoss)
assert tuple(ACTIVATIONS) == choices(Activation)


def check_activation(name: str, value: str) -> None:
    """``value`` must name an activation (a key of :data:`ACTIVATIONS`)."""
    check_choice(name, value, sorted(choices(Activation)))


def activation(name: str) -> nn.Module:
    check_activation("activation", name)
    return ACTIVATIONS[name]()


def mlp(sizes: Sequence[int], hidden_activation: str, final_activation: str) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]``; ``hidden_activation`` between them,
    ``final_activation`` after the last."""
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"layer sizes must be >= 2 positive ints, got {list(sizes)}")
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(int(fan_in), int(fan_out)))
        last = i == len(sizes) - 2
        layers.append(activation(final_activation if last else hidden_activation))
    return nn.Sequential(*layers)


def reconstruction_loss(
    x_hat: Tensor, x: Tensor, kind: str = "mse", observed: Tensor | None = None
) -> Tensor:
    """Mean elementwise reconstruction error L(x^, x), over observed entries only if a mask is
    given: ``mse`` (x^ - x)^2, ``l1`` |x^ - x|, ``bce`` -x log x^ - (1 - x) log(1 - x^)."""
    if kind == "mse":
        elementwise = (x_hat - x) ** 2
    elif kind == "l1":
        elementwise = (x_hat - x).abs()
    elif kind == "bce":
        elementwise = F.binary_cross_entropy(
            x_hat.clamp(1e-7, 1 - 1e-7), x.clamp(0, 1), reduction="none"
        )
    else:
        raise ValueError(f"recon_loss={kind!r} is not one of {list(RECON_LOSSES)}")
    if observed is None:
        return elementwise.mean()
    weight = observed.to(elementwise.dtype)
    return (elementwise * weight).sum() / weight.sum().clamp_min(1.0)
