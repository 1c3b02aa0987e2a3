"""Neighbourhood kernels K(r; sigma) of the grid distance r to the winning node.

``gaussian``     exp(-r^2 / (2 sigma^2))
``bubble``       1 if r <= sigma else 0
``mexican_hat``  (1 - r^2 / sigma^2) exp(-r^2 / (2 sigma^2))   (negative beyond r = sigma)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from ..validation import check_choice, choices

Neighbourhood = Literal["gaussian", "bubble", "mexican_hat"]
NEIGHBOURHOODS = choices(Neighbourhood)


def check_neighbourhood(name: str) -> None:
    check_choice("neighbourhood", name, NEIGHBOURHOODS)


def kernel(squared_distance, sigma: float, name: str):
    """K(r; sigma) from r^2 (numpy array or torch tensor, any shape)."""
    lib = torch if isinstance(squared_distance, torch.Tensor) else np
    s2 = sigma * sigma
    if name == "gaussian":
        return lib.exp(-squared_distance / (2 * s2))
    if name == "bubble":
        mask = squared_distance <= s2 + 1e-9
        return (
            mask.to(squared_distance.dtype) if lib is torch else mask.astype(squared_distance.dtype)
        )
    if name == "mexican_hat":
        return (1 - squared_distance / s2) * lib.exp(-squared_distance / (2 * s2))
    raise ValueError(f"neighbourhood={name!r} is not one of {list(NEIGHBOURHOODS)}")
