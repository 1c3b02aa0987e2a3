"""Typed configuration of the shared trainer."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import torch

from ..data.config import check_choice

OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainerConfig:
    """How to train: the same knobs for every neural model of the library.

    ``num_threads`` is set for the duration of ``fit`` (and restored after): tiny models run
    fastest on one thread (see ``benchmarks/trainer.py``); ``None`` leaves torch's setting.
    ``early_stopping_patience`` counts epochs without a ``min_delta`` improvement of the
    validation loss; the best weights are restored when ``restore_best`` is set.
    """

    epochs: int = 20
    batch_size: int = 64
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    lr_schedule: Literal["constant", "cosine"] = "constant"
    grad_clip_norm: float | None = None
    early_stopping_patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    eval_batch_size: int = 4096
    seed: int = 0
    device: str = "cpu"
    num_threads: int | None = 1

    def __post_init__(self) -> None:
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                    "eval_batch_size": self.eval_batch_size}
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name}={value} must be > 0")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay={self.weight_decay} must be >= 0")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum={self.momentum} must lie in [0, 1)")
        if self.grad_clip_norm is not None and not self.grad_clip_norm > 0:
            raise ValueError(f"grad_clip_norm={self.grad_clip_norm} must be > 0 or None")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ValueError(f"early_stopping_patience={self.early_stopping_patience} must be >= 1 "
                             "or None")
        if self.num_threads is not None and self.num_threads < 1:
            raise ValueError(f"num_threads={self.num_threads} must be >= 1 or None")
        resolve_device(self.device)

    def for_steps(self, steps: int, n_rows: int) -> "TrainerConfig":
        """This config with as many epochs as ``steps`` optimiser steps take on ``n_rows``
        objects, so that label budgets of different sizes get the same amount of training."""
        batches = math.ceil(n_rows / self.batch_size)
        return replace(self, epochs=max(1, math.ceil(steps / batches)))


def resolve_device(name: str) -> torch.device:
    """``torch.device(name)``, with a clear error when that device is not available here."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={name!r} is not a torch device (e.g. 'cpu', 'cuda', 'cuda:0')") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} requested but CUDA is not available on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={name!r} requested but MPS is not available on this machine")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={name!r}: supported device types are cpu, cuda and mps")
    return device
