"""What the trainer reports: per-epoch logs, the history, and the callback interface."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


@dataclass(frozen=True)
class EpochLog:
    """Mean of every named loss term over one epoch (``train``) and on validation (``val``)."""

    epoch: int
    train: dict[str, float]
    val: dict[str, float]
    lr: float
    seconds: float

    def metrics(self) -> dict[str, float]:
        """Flat ``{"train/<term>": v, "val/<term>": v, "lr": v}``."""
        flat = {f"train/{k}": v for k, v in self.train.items()}
        flat.update({f"val/{k}": v for k, v in self.val.items()})
        flat["lr"] = self.lr
        return flat


@dataclass
class TrainingHistory:
    """Every epoch's log, and how training ended."""

    epochs: list[EpochLog] = field(default_factory=list)
    best_epoch: int | None = None
    best_val_loss: float | None = None
    stopped_early: bool = False
    completed: bool = False
    seconds: float = 0.0
    batch_size: int | None = None  # objects per step actually used (a data-sized rule may set it)

    def series(self, key: str) -> list[float]:
        """Values of one flat metric (e.g. ``"train/loss"``) over the epochs."""
        return [log.metrics()[key] for log in self.epochs if key in log.metrics()]

    @property
    def final(self) -> dict[str, float]:
        return self.epochs[-1].metrics() if self.epochs else {}


class Callback:
    """Observer of a training run; override what you need. Callbacks never change training."""

    def on_fit_start(self, model: torch.nn.Module) -> None:
        """Called once before the first epoch."""

    def on_epochs_planned(self, epochs: int) -> None:
        """Called once before the first epoch with the number of epochs planned (early
        stopping may end sooner): a progress bar's total."""

    def on_step_end(self, model: torch.nn.Module) -> None:
        """Called after every optimiser step (the model's parameters have just changed)."""

    def on_epoch_end(self, log: EpochLog) -> None:
        """Called after every epoch with all train and validation terms."""

    def on_fit_end(self, history: TrainingHistory) -> None:
        """Called once at the end, also when training failed (``history.completed`` is False)."""


class WeightAverage(Callback):
    """Exponential moving average of the parameters over the optimiser steps (Polyak & Juditsky
    1992; the evaluation model of mean teacher and FixMatch): after step t,
    theta_bar_t = decay * theta_bar_(t-1) + (1 - decay) * theta_t, theta_bar_1 = theta_1.
    Training itself is unchanged; :meth:`copy_to` loads the average into a model afterwards.
    Built on :class:`torch.optim.swa_utils.AveragedModel`."""

    def __init__(self, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay={decay} must lie in (0, 1)")
        self.decay = float(decay)
        self.averaged: AveragedModel | None = None

    def on_fit_start(self, model: torch.nn.Module) -> None:
        self.averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(self.decay))

    def on_step_end(self, model: torch.nn.Module) -> None:
        self.averaged.update_parameters(model)

    def copy_to(self, model: torch.nn.Module) -> torch.nn.Module:
        """Load the averaged parameters into ``model`` (the one trained, or an equal one)."""
        if self.averaged is None or int(self.averaged.n_averaged) == 0:
            raise ValueError("WeightAverage has no average yet: train with it first")
        with torch.no_grad():
            for target, mean in zip(model.parameters(), self.averaged.module.parameters()):
                target.copy_(mean)
        return model


def replay(history: TrainingHistory, callbacks: Sequence[Callback], model: torch.nn.Module) -> None:
    """Report a finished training (e.g. one run in a worker process, where these callbacks
    could not watch) as if the callbacks had watched it: fit start, epochs planned, every
    epoch's log, fit end. There are no per-step calls (:meth:`Callback.on_step_end`)."""
    for callback in callbacks:
        callback.on_fit_start(model)
        callback.on_epochs_planned(len(history.epochs))
    for log in history.epochs:
        for callback in callbacks:
            callback.on_epoch_end(log)
    for callback in callbacks:
        callback.on_fit_end(history)


StageCallbacks = Callable[[str], Sequence[Callback]]
"""Callbacks for each training stage of a recipe: ``stage`` is ``""`` for a single training run,
else a prefix such as ``"layer1/"``, ``"finetune/"`` or ``"separate/"``."""


def no_callbacks(stage: str) -> Sequence[Callback]:
    """The default :data:`StageCallbacks`: none for any stage."""
    return ()


Progress = Callable[[int, int, str], None]
"""``progress(done, total, unit)``: how far a recipe's loop of many small fits has come (e.g.
``(12, 45, "fits")``), for a progress display; called after each step of the loop."""


def no_progress(done: int, total: int, unit: str) -> None:
    """The default :data:`Progress`: report nothing."""
