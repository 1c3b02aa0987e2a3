"""The one training loop every neural model of the library runs through.

A model is any ``nn.Module`` with ``loss(batch) -> dict[str, Tensor]``; the dict always holds
``"loss"`` (the scalar minimised) and any named terms (``recon``, ``kl``, ...), which are
averaged per epoch and handed to the callbacks. A batch is a dict of tensors that share their
first dimension (``{"x": ..., "y": ...}``), cut from in-memory tensors by shuffled index tensors.
Under ``torchrun`` (an initialised process group) each process trains on its share of every
minibatch and gradients are averaged across processes (:mod:`.distributed`).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np
import torch
from torch import Tensor, nn

from .callbacks import Callback, EpochLog, TrainingHistory
from .config import TrainerConfig, resolve_device
from .distributed import all_reduce_sum, data_parallel, shard, world
from .runtime import seeded, torch_threads

TensorData = Mapping[str, Tensor]


class TrainableModel(Protocol):
    def loss(self, batch: TensorData) -> dict[str, Tensor]: ...


class TrainingDiverged(RuntimeError):
    """A loss term became NaN or infinite; training stopped before the weights were updated."""

    def __init__(self, epoch: int, term: str, value: float, phase: str = "train") -> None:
        self.epoch, self.term, self.value, self.phase = epoch, term, value, phase
        super().__init__(
            f"training diverged at epoch {epoch} ({phase}): loss term {term!r} = {value}; "
            "lower the learning rate, enable grad_clip_norm, or check the input scaling"
        )

    def __reduce__(self):  # raised in a worker process, it arrives whole (unsup_core.parallel)
        return type(self), (self.epoch, self.term, self.value, self.phase)


def as_tensors(data: Mapping[str, Tensor | np.ndarray], device: torch.device) -> dict[str, Tensor]:
    """Move a dict of arrays to ``device``: floats become float32, integers int64."""
    if not data:
        raise ValueError("training data is empty: pass a dict such as {'x': features}")
    tensors = {}
    for key, value in data.items():
        tensor = torch.as_tensor(value)
        if tensor.is_floating_point():
            tensor = tensor.to(torch.float32)
        elif tensor.dtype != torch.bool:
            tensor = tensor.to(torch.int64)
        tensors[key] = tensor.to(device)
    lengths = {key: t.shape[0] if t.ndim else None for key, t in tensors.items()}
    if len(set(lengths.values())) != 1 or None in lengths.values():
        raise ValueError(
            f"every tensor in the data must have the same first dimension, got {lengths}"
        )
    if next(iter(lengths.values())) == 0:
        raise ValueError("training data has no samples")
    return tensors


def _scalars(terms: Mapping[str, Tensor]) -> dict[str, float]:
    """Every term as a Python float, with a single device sync (one stacked transfer)."""
    values = [t.detach() if t.ndim == 0 else t.detach().mean() for t in terms.values()]
    return dict(zip(terms, torch.stack([v.float() for v in values]).tolist()))


def _check_finite(values: Mapping[str, float], epoch: int, phase: str) -> None:
    """Raise :class:`TrainingDiverged` naming the first non-finite term (the loss if no other)."""
    if math.isfinite(values["loss"]):
        return
    culprit = next((k for k, v in values.items() if k != "loss" and not math.isfinite(v)), "loss")
    raise TrainingDiverged(epoch, culprit, values[culprit], phase)


def _terms_of(model: TrainableModel, batch: TensorData) -> dict[str, Tensor]:
    terms = model.loss(batch)
    if "loss" not in terms:
        raise ValueError(
            f"{type(model).__name__}.loss() must return a dict with a 'loss' key, "
            f"got keys {sorted(terms)}"
        )
    return terms


def evaluate(
    model: nn.Module,
    data: Mapping[str, Tensor | np.ndarray],
    batch_size: int = 4096,
    device: str | torch.device | None = None,
) -> dict[str, float]:
    """Mean of every loss term of ``model`` over ``data`` (eval mode; gradients only if the
    model declares ``loss_requires_grad``, e.g. an autograd Jacobian penalty)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    tensors = as_tensors(data, device)
    n = next(iter(tensors.values())).shape[0]
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    try:
        with torch.set_grad_enabled(getattr(model, "loss_requires_grad", False)):
            for start in range(0, n, batch_size):
                batch = {k: v[start : start + batch_size] for k, v in tensors.items()}
                size = next(iter(batch.values())).shape[0]
                for key, value in _scalars(_terms_of(model, batch)).items():
                    sums[key] = sums.get(key, 0.0) + value * size
    finally:
        model.train(was_training)
    return {key: total / n for key, total in sums.items()}


class Trainer:
    """Minibatch training of any model with ``loss(batch)``; see :class:`TrainerConfig`.

    >>> history = Trainer(TrainerConfig(epochs=5)).fit(model, {"x": X_train}, {"x": X_val})
    """

    def __init__(
        self, config: TrainerConfig | None = None, callbacks: Sequence[Callback] = ()
    ) -> None:
        self.config = config or TrainerConfig()
        self.callbacks = list(callbacks)

    def fit(
        self,
        model: nn.Module,
        train: Mapping[str, Tensor | np.ndarray],
        val: Mapping[str, Tensor | np.ndarray] | None = None,
        param_groups: Iterable[dict] | None = None,
    ) -> TrainingHistory:
        """Train ``model`` in place and return its history.

        ``param_groups`` (torch optimiser groups, e.g. a smaller ``lr`` for a pretrained
        encoder) defaults to every parameter with ``requires_grad``.
        Raises :class:`TrainingDiverged` on a NaN/inf loss term.
        """
        cfg = self.config
        if cfg.early_stopping_patience is not None and val is None:
            raise ValueError("early_stopping_patience needs validation data (val=None given)")
        device = resolve_device(cfg.device)
        history = TrainingHistory()
        with torch_threads(cfg.num_threads), seeded(cfg.seed, device):
            model.to(device)
            train_t = as_tensors(train, device)
            val_t = as_tensors(val, device) if val is not None else None
            optimizer = self._optimizer(model, param_groups)
            self._world = world()
            self._parallel = data_parallel(model) if self._world.size > 1 else None
            rows = next(iter(train_t.values())).shape[0]
            epochs = cfg.epochs_for(rows)
            history.batch_size = cfg.batch_size_for(rows)
            self._steps_left = cfg.steps_for(rows)  # max_steps may end the last epoch early
            schedule = (
                torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
                if cfg.lr_schedule == "cosine"
                else None
            )
            for callback in self.callbacks:
                callback.on_fit_start(model)
                callback.on_epochs_planned(epochs)
            try:
                self._run_epochs(model, optimizer, schedule, train_t, val_t, history, epochs)
                history.completed = True
            finally:
                for callback in self.callbacks:
                    callback.on_fit_end(history)
        return history

    def _optimizer(
        self, model: nn.Module, param_groups: Iterable[dict] | None
    ) -> torch.optim.Optimizer:
        cfg = self.config
        groups = (
            list(param_groups)
            if param_groups is not None
            else [{"params": [p for p in model.parameters() if p.requires_grad]}]
        )
        if not any(list(g["params"]) for g in groups):
            raise ValueError(f"{type(model).__name__} has no trainable parameters")
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(
                groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
            )
        optimizer_class = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
        return optimizer_class(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def _run_epochs(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        schedule,
        train: dict[str, Tensor],
        val: dict[str, Tensor] | None,
        history: TrainingHistory,
        epochs: int,
    ) -> None:
        cfg = self.config
        start = time.perf_counter()
        best_state, stale = None, 0
        shuffle = torch.Generator().manual_seed(cfg.seed)
        for epoch in range(1, epochs + 1):
            tic = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            train_terms = self._train_epoch(model, optimizer, train, epoch, shuffle)
            val_terms = {}
            if val is not None:
                val_terms = evaluate(model, val, cfg.eval_batch_size)
                if not math.isfinite(val_terms["loss"]):
                    bad = next((k for k, v in val_terms.items() if not math.isfinite(v)), "loss")
                    raise TrainingDiverged(epoch, bad, val_terms[bad], phase="validation")
            if schedule is not None:
                schedule.step()
            log = EpochLog(epoch, train_terms, val_terms, lr, time.perf_counter() - tic)
            history.epochs.append(log)
            history.seconds = time.perf_counter() - start
            for callback in self.callbacks:
                callback.on_epoch_end(log)
            if val is None:
                continue
            if (
                history.best_val_loss is None
                or val_terms["loss"] < history.best_val_loss - cfg.min_delta
            ):
                history.best_epoch, history.best_val_loss, stale = epoch, val_terms["loss"], 0
                if cfg.restore_best:
                    best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
                if cfg.early_stopping_patience is not None and stale >= cfg.early_stopping_patience:
                    history.stopped_early = True
                    break
        if best_state is not None and cfg.restore_best:
            model.load_state_dict(best_state)

    def _train_epoch(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        data: dict[str, Tensor],
        epoch: int,
        shuffle: torch.Generator,
    ) -> dict[str, float]:
        cfg = self.config
        model.train()
        first = next(iter(data.values()))
        order = torch.randperm(first.shape[0], generator=shuffle).to(first.device)
        n = first.shape[0]
        batch_size = cfg.batch_size_for(n)
        sums: dict[str, float] = {}
        seen = 0
        where = self._world
        for start in range(0, n, batch_size):
            if self._steps_left <= 0:
                break
            self._steps_left -= 1
            index = order[start : start + batch_size]
            size = index.shape[0]
            local, weight = index, size
            if where.size > 1:  # this rank's share; a rank without rows joins with weight 0
                local = shard(index, where)
                weight = local.shape[0]
                local = local if weight else index[:1]
            batch = {key: value[local] for key, value in data.items()}
            terms = _terms_of(model, batch) if self._parallel is None else self._parallel(batch)
            values = _scalars(terms)
            if where.size > 1:  # the batch's means: each rank's share, summed over the ranks
                shares = torch.tensor([v * weight for v in values.values()], dtype=torch.float64)
                values = dict(zip(values, (all_reduce_sum(shares) / size).tolist()))
            _check_finite(values, epoch, "train")
            optimizer.zero_grad(set_to_none=True)
            # DDP averages gradients over the ranks: weighting each rank's mean loss by
            # size * (its rows / the batch's) makes that average the gradient of the batch mean
            (terms["loss"] * (where.size * weight / size)).backward()
            if cfg.grad_clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip_norm)
            optimizer.step()
            for callback in self.callbacks:
                callback.on_step_end(model)
            for key, value in values.items():
                sums[key] = sums.get(key, 0.0) + value * size
            seen += size
        return {key: total / seen for key, total in sums.items()}
