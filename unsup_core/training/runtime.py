"""Process-level torch settings, scoped: threads and random state never leak out of a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import cache

import torch
from torch import nn


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)`` and restore the previous count after."""
    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # scans the loaded BLAS/OpenMP libraries once


def blas_threads(n: int | None):
    """Context manager limiting numpy's BLAS (and OpenMP) pools to ``n`` threads in the block."""
    return nullcontext() if n is None else _blas_controller().limit(limits=n)


@contextmanager
def seeded(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run the block with torch's global generators seeded by ``seed``, restored after.

    Used to build models (weight initialisation) and to train them (dropout, corruption noise)
    reproducibly without touching the caller's random state.
    """
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type if devices else "cuda"):
        torch.manual_seed(seed)
        yield


def eval_generator(module: nn.Module, seed: int, device: torch.device) -> torch.Generator | None:
    """``None`` (torch's global RNG, seeded by the Trainer) in training mode; in evaluation mode a
    fresh generator seeded with ``seed``, so that a validation or test loss is computed on the
    same random draws every call, whatever the global random state, and early stopping compares
    like with like."""
    if module.training:
        return None
    return torch.Generator(device=device).manual_seed(seed)
