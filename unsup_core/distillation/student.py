"""Train a small student from a teacher (Hinton, Vinyals, Dean 2015) and surrogate modelling:
sum_i L(b(x'_i, w'), a(x'_i, w)) -> min over w', possibly on other inputs x' than the
teacher's training data (noisy copies, mixup, samples of a generative model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from ..arrays import apply_array
from ..validation import check_choice, choices
from .losses import (
    KD_TEMPERATURE,
    check_alpha,
    check_temperature,
    knowledge_distillation_loss,
    regression_distillation_loss,
)
from .views import AugmentedTargets

Task = Literal["classification", "regression"]
TASKS = choices(Task)


@dataclass(frozen=True)
class DistillationConfig:
    """The soft-target loss (see
    :func:`~unsup_core.distillation.losses.knowledge_distillation_loss`).

    Parameters
    ----------
    temperature : T > 0 of the softened distributions.
    alpha : weight in [0, 1] of the hard (label) term; 1 - alpha weighs the imitation.
    task : "classification", or "regression" (squared errors to the labels and to the
        teacher's outputs).
    """

    temperature: float = KD_TEMPERATURE
    alpha: float = 0.5
    task: Task = "classification"

    def __post_init__(self) -> None:
        check_temperature(self.temperature)
        check_alpha(self.alpha)
        check_choice("task", self.task, TASKS)


def _outputs(model: nn.Module, x: Tensor) -> Tensor:
    return model.logits(x) if hasattr(model, "logits") else model(x)


class DistillationStudent(nn.Module):
    """A student b(x, w') trained to match the labels and a frozen teacher a(x, w).

    Two ways to give the teacher's answers:

    * precomputed (recommended, cheaper: the teacher runs once, not once per epoch):
      ``batch["teacher_logits"]`` (B, K), e.g. from :func:`teacher_targets`; ``teacher=None``;
    * live: pass ``teacher``; it is frozen here (``requires_grad`` False, always in eval mode,
      even when the trainer calls ``train()``), so the shared Trainer never updates it.

    ``views`` (an :class:`~unsup_core.distillation.views.AugmentedTargets`, classification
    only) adds, at every training step, fresh augmented views of the batch's images with the
    teacher's logits on them as unlabelled members (y = -1): the imitation term then averages
    over the batch and its views, the label term over the labelled originals. Evaluation
    (``model.eval()``) uses the batch as given.

    Batches: ``{"x": (B, d), "y": (B,) int with -1 for unlabelled [, "teacher_logits"]}``;
    for regression ``y`` is float with NaN for unknown. Terms: ``loss``, ``hard_ce``,
    ``soft_kl``, ``accuracy`` (of the labelled members) for classification; ``loss``,
    ``hard_mse``, ``soft_mse`` for regression. ``predict``/``logits`` use the student only.
    """

    def __init__(
        self,
        student: nn.Module,
        config: DistillationConfig | None = None,
        *,
        teacher: nn.Module | None = None,
        views: AugmentedTargets | None = None,
    ) -> None:
        super().__init__()
        self.config = config or DistillationConfig()
        if views is not None and not isinstance(views, AugmentedTargets):
            raise TypeError(f"views must be an AugmentedTargets, got {type(views).__name__}")
        if views is not None and self.config.task != "classification":
            raise ValueError(f"views need task='classification', got task={self.config.task!r}")
        self.student = student
        self.teacher = teacher
        self.views = views
        if teacher is not None:
            teacher.requires_grad_(False)
            teacher.eval()

    def train(self, mode: bool = True) -> DistillationStudent:
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()  # no dropout, no batch-norm updates: the teacher is fixed
        return self

    def logits(self, x: Tensor) -> Tensor:
        """The student's outputs, (B, d) -> (B, K)."""
        return _outputs(self.student, x)

    forward = logits

    def predict(self, x: Tensor) -> Tensor:
        """(B, d) -> (B,) the student's classes."""
        return self.logits(x).argmax(dim=1)

    def teacher_logits(self, batch: dict[str, Tensor]) -> Tensor:
        if "teacher_logits" in batch:
            return batch["teacher_logits"]
        if self.teacher is None:
            raise ValueError(
                "DistillationStudent needs batch['teacher_logits'] or a teacher module"
            )
        with torch.no_grad():
            return _outputs(self.teacher, batch["x"])

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        cfg = self.config
        x = batch["x"]
        t = self.teacher_logits(batch)
        if cfg.task == "regression":
            s = self.logits(x)
            y = batch.get("y", torch.full(s.shape[:1], float("nan"), device=s.device))
            return regression_distillation_loss(s, t, y, cfg.alpha)
        y = batch.get("y", torch.full(x.shape[:1], -1, dtype=torch.long, device=x.device)).long()
        if self.views is not None and self.training:
            x, t, y = self.views.extend(x, x, t, y)
        s = self.logits(x)
        terms = knowledge_distillation_loss(s, t, y, cfg.temperature, cfg.alpha)
        known = (y >= 0).to(s.dtype)
        correct = (s.argmax(dim=1) == y).to(s.dtype)
        terms["accuracy"] = ((correct * known).sum() / known.sum().clamp_min(1.0)).detach()
        return terms


def teacher_targets(
    teacher: nn.Module, X: np.ndarray | Tensor, batch_size: int = 4096
) -> np.ndarray:
    """The teacher's logits (or outputs) on X, (n, d) -> (n, K), computed once in eval mode."""
    method = "logits" if hasattr(teacher, "logits") else "forward"
    return apply_array(teacher, X, method, batch_size)


def distillation_data(
    teacher: nn.Module,
    X: np.ndarray,
    y: np.ndarray | None = None,
    labelled: np.ndarray | None = None,
    extra_inputs: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Trainer data ``{"x", "y", "teacher_logits"}`` for a student: the teacher's soft targets
    on every row of X, the labels ``y[labelled]`` on the rows ``labelled`` (all rows if None)
    and -1 elsewhere (no labels at all if ``y`` is None: pure surrogate training).
    ``extra_inputs`` (m, d) (e.g. :func:`mixup_inputs` of X) are appended as m more unlabelled
    rows with the teacher's soft targets on them."""
    X = np.asarray(X, dtype=np.float32)
    targets = np.full(X.shape[0], -1, dtype=np.int64)
    if y is not None:
        rows = np.arange(X.shape[0]) if labelled is None else np.asarray(labelled)
        targets[rows] = np.asarray(y)[rows]
    if extra_inputs is not None:
        extra = np.asarray(extra_inputs, dtype=np.float32)
        if extra.ndim != 2 or extra.shape[1] != X.shape[1]:
            raise ValueError(
                f"extra_inputs have shape {extra.shape}; expected (m, {X.shape[1]}) like X"
            )
        X = np.concatenate([X, extra])
        targets = np.concatenate([targets, np.full(len(extra), -1, dtype=np.int64)])
    return {"x": X, "y": targets, "teacher_logits": teacher_targets(teacher, X)}


def noise_copies(
    X: np.ndarray,
    n_copies: int = 1,
    std: float = 0.1,
    seed: int = 0,
    clip: tuple[float, float] | None = None,
) -> np.ndarray:
    """Gaussian-noise copies x + eps, eps ~ N(0, std^2 I), of every row: (n, d) ->
    (n * n_copies, d), optionally clipped to ``clip`` (e.g. (0, 1) for min-max scaled data)."""
    if n_copies < 1 or not std >= 0:
        raise ValueError(f"n_copies={n_copies} must be >= 1 and std={std} >= 0")
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float32)
    out = np.tile(X, (n_copies, 1)) + rng.normal(0.0, std, size=(X.shape[0] * n_copies, X.shape[1]))
    return (np.clip(out, *clip) if clip is not None else out).astype(np.float32)


def mixup_inputs(X: np.ndarray, n: int, beta: float = 0.4, seed: int = 0) -> np.ndarray:
    """n mixup inputs lambda x_i + (1 - lambda) x_j (Zhang et al. 2018) of random pairs of
    rows, lambda ~ Beta(beta, beta): (m, d) -> (n, d). Labels are not mixed: the teacher
    labels these inputs (:func:`teacher_targets`)."""
    if n < 1 or not beta > 0:
        raise ValueError(f"n={n} must be >= 1 and beta={beta} > 0")
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float32)
    i, j = rng.integers(0, X.shape[0], size=n), rng.integers(0, X.shape[0], size=n)
    lam = rng.beta(beta, beta, size=(n, 1)).astype(np.float32)
    return (lam * X[i] + (1 - lam) * X[j]).astype(np.float32)


def surrogate_data(teacher: nn.Module, *inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Trainer data for a surrogate that learns only the teacher's answers on the given input
    arrays (training inputs, :func:`noise_copies`, :func:`mixup_inputs`, VAE samples, ...),
    stacked: ``{"x", "y" = -1, "teacher_logits"}``. Train with ``alpha`` = 0 or any alpha:
    without labels only the imitation term is active."""
    if not inputs:
        raise ValueError("surrogate_data needs at least one input array")
    return distillation_data(teacher, np.concatenate([np.asarray(a, np.float32) for a in inputs]))
