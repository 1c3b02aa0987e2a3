"""Typed configuration of the shared trainer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from ..sizing import auto_batch_size
from ..validation import check_choice, choices

Optimizer = Literal["adam", "adamw", "sgd"]
LrSchedule = Literal["constant", "cosine"]
OPTIMIZERS, LR_SCHEDULES = choices(Optimizer), choices(LrSchedule)
DEFAULT_EPOCHS = 20  # when neither epochs nor steps is set


@dataclass(frozen=True)
class TrainerConfig:
    """How to train: the same knobs for every neural model of the library.

    Parameters
    ----------
    epochs : passes over the training data (``None``: 20, unless ``steps`` is set).
    steps : a budget of optimiser steps instead of epochs, so that training sets of different
        sizes (label budgets, say) get the same amount of training; rounded up to whole epochs
        of ``ceil(n / batch_size)`` steps. Excludes ``epochs`` and early stopping.
    min_steps : with ``epochs``, raise them until training takes at least this many optimiser
        steps (``None``: no floor). A preset sized for thousands of rows then still trains a
        table of a few hundred: epochs = max(epochs, ceil(min_steps / ceil(n / batch_size))).
    max_steps : a cap on optimiser steps, however large the data: epochs are cut to
        ceil(max_steps / batches per epoch) and the last one stops part-way, so one model's
        training cost stops growing with the rows (``None``: no cap).
    batch_size : objects per optimiser step (``None``: from the rows, by
        :func:`unsup_core.sizing.auto_batch_size`: the power of two nearest n / 16 in
        [16, 512]; 64 on the digits).
    optimizer : "adam", "adamw" or "sgd".
    lr : learning rate (of the first parameter group).
    weight_decay : L2 penalty (decoupled for adamw).
    momentum : SGD momentum.
    lr_schedule : "constant" or "cosine" (annealed to 0 over the epochs).
    grad_clip_norm : clip the gradient's global norm to this (``None``: no clipping).
    early_stopping_patience : stop after this many epochs without a ``min_delta`` improvement
        of the validation loss (``None``: never); needs validation data.
    min_delta : smallest validation-loss decrease that counts as an improvement.
    restore_best : restore the weights of the best validation epoch at the end.
    eval_batch_size : objects per batch when evaluating.
    seed : seed of shuffling, dropout and noise during training.
    device : torch device ("cpu", "cuda", "cuda:0", "mps").
    num_threads : torch threads during ``fit`` (restored after); tiny models run fastest on
        one (``benchmarks/trainer.py``); ``None`` leaves torch's setting.
    """

    epochs: int | None = None
    steps: int | None = None
    min_steps: int | None = None
    max_steps: int | None = None
    batch_size: int | None = None
    optimizer: Optimizer = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    lr_schedule: LrSchedule = "constant"
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
        positive = {"lr": self.lr, "eval_batch_size": self.eval_batch_size}
        for name in ("epochs", "steps", "min_steps", "max_steps", "batch_size"):
            if getattr(self, name) is not None:
                positive[name] = getattr(self, name)
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name}={value} must be > 0")
        if self.steps is not None and self.epochs is not None:
            raise ValueError(
                f"epochs={self.epochs} and steps={self.steps}: set one budget, "
                "not both (epochs=None to train for a number of steps)"
            )
        if self.steps is not None and self.min_steps is not None:
            raise ValueError(
                f"min_steps={self.min_steps} with steps={self.steps}: a step budget is exact; "
                "min_steps is a floor for epochs"
            )
        if (
            self.min_steps is not None
            and self.max_steps is not None
            and self.min_steps > self.max_steps
        ):
            raise ValueError(f"min_steps={self.min_steps} must be <= max_steps={self.max_steps}")
        if self.steps is not None and self.early_stopping_patience is not None:
            raise ValueError(
                f"early_stopping_patience={self.early_stopping_patience} with "
                f"steps={self.steps}: a step budget always runs to the end; use "
                "epochs to stop early"
            )
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay={self.weight_decay} must be >= 0")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum={self.momentum} must lie in [0, 1)")
        if self.grad_clip_norm is not None and not self.grad_clip_norm > 0:
            raise ValueError(f"grad_clip_norm={self.grad_clip_norm} must be > 0 or None")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ValueError(
                f"early_stopping_patience={self.early_stopping_patience} must be >= 1 or None"
            )
        if self.num_threads is not None and self.num_threads < 1:
            raise ValueError(f"num_threads={self.num_threads} must be >= 1 or None")
        resolve_device(self.device)

    def batch_size_for(self, n_rows: int) -> int:
        """Objects per optimiser step over ``n_rows`` objects: ``batch_size``, or the
        data-sized rule when it is ``None``."""
        return self.batch_size if self.batch_size is not None else auto_batch_size(n_rows)

    def epochs_for(self, n_rows: int) -> int:
        """Epochs over ``n_rows`` objects: ``epochs`` (raised to reach ``min_steps``), or as
        many whole epochs as ``steps`` optimiser steps take (at least one); at most as many as
        ``max_steps`` steps start (the last may be partial: :meth:`steps_for`)."""
        batches = math.ceil(n_rows / self.batch_size_for(n_rows))
        if self.steps is None:
            epochs = self.epochs if self.epochs is not None else DEFAULT_EPOCHS
            if self.min_steps is not None:
                epochs = max(epochs, math.ceil(self.min_steps / batches))
        else:
            epochs = max(1, math.ceil(self.steps / batches))
        if self.max_steps is not None:
            epochs = min(epochs, math.ceil(self.max_steps / batches))
        return epochs

    def steps_for(self, n_rows: int) -> int:
        """Optimiser steps over ``n_rows`` objects: whole epochs, capped at ``max_steps``."""
        steps = self.epochs_for(n_rows) * math.ceil(n_rows / self.batch_size_for(n_rows))
        return steps if self.max_steps is None else min(steps, self.max_steps)


def resolve_device(name: str) -> torch.device:
    """``torch.device(name)``, with a clear error when that device is not available here."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device={name!r} is not a torch device (e.g. 'cpu', 'cuda', 'cuda:0')"
        ) from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} requested but CUDA is not available on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={name!r} requested but MPS is not available on this machine")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={name!r}: supported device types are cpu, cuda and mps")
    return device
