"""Learning using privileged information (Vapnik & Vashist 2009, "A new learning paradigm:
learning using privileged information") and generalized distillation (Lopez-Paz, Bottou,
Schoelkopf, Vapnik 2016, "Unifying distillation and privileged information").

Privileged features x* exist only at training time (the full image; the future of a series;
an assessor's keywords). Separate training: a teacher a(x*, w*) learns from x*, then the
student a(x, w) minimises sum_i L(a(x_i, w), y_i) + mu sum_i L(a(x_i, w), a(x*_i, w*))
(:class:`GeneralizedDistillationStudent`); joint training of both with the coupling term:
:class:`JointPrivilegedModel`. At prediction time only x is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from ..autoencoders.label_regularized import labelled_cross_entropy
from ..training import seeded
from ..validation import check_choice, choices
from .losses import (
    LUPI_MU,
    LUPI_TEMPERATURE,
    check_mu,
    check_temperature,
    generalized_distillation_loss,
    soft_kl,
)
from .models import MLPClassifier, MLPClassifierConfig
from .student import teacher_targets
from .views import AugmentedTargets

Degrade = Literal["pool4x4", "pixel_subset"]
DEGRADE_MODES = choices(Degrade)


def degrade(
    X: np.ndarray,
    image_shape: Sequence[int],
    mode: str = "pool4x4",
    n_pixels: int = 16,
    seed: int = 0,
) -> np.ndarray:
    """A degraded view x of images whose full version is the privileged x*.

    ``"pool4x4"``: average pooling down to a 4x4 grid (blocks of (h/4) x (w/4) pixels; for 8x8
    digits 2x2 blocks), (n, h*w) -> (n, 16). ``"pixel_subset"``: ``n_pixels`` pixel columns
    drawn once without replacement with ``seed`` (the same for every row, in increasing order),
    (n, h*w) -> (n, n_pixels). Rows are images flattened in row-major order."""
    check_choice("mode", mode, DEGRADE_MODES)
    X = np.asarray(X, dtype=np.float32)
    h, w = (int(s) for s in image_shape)
    if X.ndim != 2 or X.shape[1] != h * w:
        raise ValueError(f"X has shape {X.shape}; expected (n, {h * w}) for image_shape=({h}, {w})")
    if mode == "pool4x4":
        if h % 4 or w % 4:
            raise ValueError(f"image_shape=({h}, {w}): pool4x4 needs sides divisible by 4")
        blocks = X.reshape(-1, 4, h // 4, 4, w // 4)
        return blocks.mean(axis=(2, 4)).reshape(-1, 16).astype(np.float32)
    if not 1 <= n_pixels <= h * w:
        raise ValueError(f"n_pixels={n_pixels} must lie in [1, {h * w}]")
    columns = np.sort(np.random.default_rng(seed).choice(h * w, size=n_pixels, replace=False))
    return X[:, columns]


def split_privileged(
    X: np.ndarray, feature_names: Sequence[str], privileged_columns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Split a table's features into (x, x*): x* the named ``privileged_columns`` (in that
    order), x the others (in table order). X: (n, d) -> ((n, d - p), (n, p))."""
    names = list(feature_names)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"X has shape {X.shape} but {len(names)} feature_names were given")
    if isinstance(privileged_columns, str):
        privileged_columns = [privileged_columns]
    privileged = list(privileged_columns)
    missing = [c for c in privileged if c not in names]
    if missing:
        raise ValueError(f"privileged_columns {missing} are not among the features {names}")
    if not privileged:
        raise ValueError("privileged_columns=[] is empty: name at least one column")
    if len(set(privileged)) == len(names):
        raise ValueError(f"privileged_columns={privileged} covers every feature; x would be empty")
    star = [names.index(c) for c in privileged]
    rest = [i for i, name in enumerate(names) if name not in set(privileged)]
    return X[:, rest], X[:, star]


def privileged_data(
    teacher: nn.Module,
    X: np.ndarray,
    X_star: np.ndarray,
    y: np.ndarray | None = None,
    labelled: np.ndarray | None = None,
    keep_privileged: bool = False,
) -> dict[str, np.ndarray]:
    """Trainer data for :class:`GeneralizedDistillationStudent`: ``{"x": X, "y", "teacher_logits"
    = a(x*, w*)}``, labels on the rows ``labelled`` (all if None) and -1 elsewhere. x* reaches
    the student's wrapper only with ``keep_privileged`` (as ``"x_star"``, from which its
    ``views`` make augmented views for the teacher); the student network never sees it."""
    X = np.asarray(X, dtype=np.float32)
    if np.asarray(X_star).shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but X_star {np.asarray(X_star).shape[0]}")
    targets = np.full(X.shape[0], -1, dtype=np.int64)
    if y is not None:
        rows = np.arange(X.shape[0]) if labelled is None else np.asarray(labelled)
        targets[rows] = np.asarray(y)[rows]
    data = {"x": X, "y": targets, "teacher_logits": teacher_targets(teacher, X_star)}
    if keep_privileged:
        data["x_star"] = np.asarray(X_star, dtype=np.float32)
    return data


def joint_privileged_data(
    X: np.ndarray, X_star: np.ndarray, y: np.ndarray, labelled: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Trainer data for :class:`JointPrivilegedModel`: ``{"x": X (n, d), "x_star": X_star
    (n, d*), "y": (n,)}`` with the labels on the rows ``labelled`` (all if None) and -1
    elsewhere, so the coupling term runs on every row and the two cross-entropies on the
    labelled ones."""
    X, X_star = np.asarray(X, dtype=np.float32), np.asarray(X_star, dtype=np.float32)
    if X_star.shape[0] != X.shape[0] or np.asarray(y).shape[0] != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows, X_star {X_star.shape[0]}, y {np.asarray(y).shape[0]}"
        )
    targets = np.full(X.shape[0], -1, dtype=np.int64)
    rows = np.arange(X.shape[0]) if labelled is None else np.asarray(labelled)
    targets[rows] = np.asarray(y)[rows]
    return {"x": X, "x_star": X_star, "y": targets}


class GeneralizedDistillationStudent(nn.Module):
    """The student of separate LUPI training: wraps a classifier on x and minimises
    :func:`~unsup_core.distillation.losses.generalized_distillation_loss`
    CE_labelled(a(x, w), y) + mu KL(softmax(a(x*, w*) / T) || softmax(a(x, w))).

    Batches: ``{"x": (B, d), "y": (B,) (-1 unlabelled), "teacher_logits": (B, K)}`` (the
    teacher's logits on x*, from :func:`privileged_data`). Terms ``loss``, ``hard_ce``,
    ``imitation``, ``accuracy``. ``logits``/``predict`` take x only.

    ``views`` (an :class:`~unsup_core.distillation.views.AugmentedTargets` with the teacher on
    x* and ``student_view`` mapping an augmented x* to the student's x, e.g.
    :func:`~unsup_core.distillation.views.pool_images`) adds, at every training step, fresh
    augmented views of the batch's ``"x_star"`` (``privileged_data(..., keep_privileged=True)``)
    as unlabelled members: the student on the degraded view imitates the teacher on the full
    view."""

    def __init__(
        self,
        student: nn.Module,
        temperature: float = LUPI_TEMPERATURE,
        mu: float = LUPI_MU,
        views: AugmentedTargets | None = None,
    ) -> None:
        super().__init__()
        self.temperature, self.mu = check_temperature(temperature), check_mu(mu)
        if views is not None and not isinstance(views, AugmentedTargets):
            raise TypeError(f"views must be an AugmentedTargets, got {type(views).__name__}")
        self.student = student
        self.views = views

    def logits(self, x: Tensor) -> Tensor:
        """(B, d) -> (B, K): the student on the ordinary features x."""
        return self.student.logits(x) if hasattr(self.student, "logits") else self.student(x)

    forward = logits

    def predict(self, x: Tensor) -> Tensor:
        return self.logits(x).argmax(dim=1)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        if "teacher_logits" not in batch:
            raise ValueError(
                "GeneralizedDistillationStudent needs batch['teacher_logits'] "
                "(the teacher's logits on x*; see privileged_data)"
            )
        x, t, y = batch["x"], batch["teacher_logits"], batch["y"].long()
        if self.views is not None and self.training:
            if "x_star" not in batch:
                raise ValueError(
                    "GeneralizedDistillationStudent with views needs batch['x_star'] "
                    "(privileged_data(..., keep_privileged=True))"
                )
            x, t, y = self.views.extend(batch["x_star"], x, t, y)
        s = self.logits(x)
        terms = generalized_distillation_loss(s, t, y, self.temperature, self.mu)
        terms["accuracy"] = labelled_cross_entropy(s.detach(), y)[1]
        return terms


@dataclass(frozen=True)
class JointPrivilegedConfig:
    """Student MLP on x and teacher MLP on x*, trained at once with the coupling term.

    Parameters
    ----------
    in_features : width of x, the student's input.
    privileged_features : width of x*, the teacher's input.
    n_classes : number of classes K >= 2.
    student_hidden : hidden widths of the student.
    teacher_hidden : hidden widths of the teacher.
    activation : activation of both networks.
    mu : weight >= 0 of the coupling term.
    temperature : T > 0 of the teacher's softened distribution.
    coupling_to_teacher : False (default): the coupling moves only the student (the teacher
        learns from its labels alone, as in separate training but simultaneously); True: it
        also pulls the teacher toward the student.
    seed : seed of the initialisation (the teacher uses seed + 1).
    """

    in_features: int
    privileged_features: int
    n_classes: int = 10
    student_hidden: tuple[int, ...] = (16,)
    teacher_hidden: tuple[int, ...] = (256, 256)
    activation: str = "relu"
    mu: float = LUPI_MU
    temperature: float = LUPI_TEMPERATURE
    coupling_to_teacher: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        check_mu(self.mu)
        check_temperature(self.temperature)
        self.student_config(), self.teacher_config()  # validates widths, classes, activation

    def student_config(self) -> MLPClassifierConfig:
        return MLPClassifierConfig(
            self.in_features, self.student_hidden, self.n_classes, self.activation, seed=self.seed
        )

    def teacher_config(self) -> MLPClassifierConfig:
        return MLPClassifierConfig(
            self.privileged_features,
            self.teacher_hidden,
            self.n_classes,
            self.activation,
            seed=self.seed + 1,
        )


class JointPrivilegedModel(nn.Module):
    """Joint LUPI training of student a(x, w) and teacher a(x*, w*) with a coupling term:

        L = CE_labelled(a(x, w), y) + CE_labelled(a(x*, w*), y)
            + mu * mean_i KL(softmax(a(x*_i, w*) / T) || softmax(a(x_i, w)))

    Terms ``loss``, ``student_ce``, ``teacher_ce``, ``coupling``, ``accuracy`` (the student's).
    Batches: ``{"x": (B, in_features), "x_star": (B, privileged_features), "y": (B,)}``.
    ``logits``/``predict`` take x only: x* is never needed (nor accepted) at prediction time.
    """

    def __init__(self, config: JointPrivilegedConfig) -> None:
        super().__init__()
        self.config = config
        with seeded(config.seed):
            self.student = MLPClassifier(config.student_config())
            self.teacher = MLPClassifier(config.teacher_config())

    def logits(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B, n_classes), the student only."""
        return self.student.logits(x)

    forward = logits

    def predict(self, x: Tensor) -> Tensor:
        return self.logits(x).argmax(dim=1)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        cfg = self.config
        if "x_star" not in batch or "y" not in batch:
            raise ValueError(
                f"JointPrivilegedModel.loss needs batch keys x, x_star, y; got {sorted(batch)}"
            )
        y = batch["y"].long()
        s = self.student.logits(batch["x"])
        t = self.teacher.logits(batch["x_star"])
        student_ce, accuracy = labelled_cross_entropy(s, y)
        teacher_ce, _ = labelled_cross_entropy(t, y)
        q_source = t if cfg.coupling_to_teacher else t.detach()
        if cfg.coupling_to_teacher:  # soft_kl detaches the teacher: spell the KL out here
            log_q = torch.log_softmax(q_source / cfg.temperature, dim=1)
            coupling = (log_q.exp() * (log_q - torch.log_softmax(s, dim=1))).sum(1).mean()
        else:
            coupling = soft_kl(s, q_source, cfg.temperature, student_temperature=1.0)
        return {
            "loss": student_ce + teacher_ce + cfg.mu * coupling,
            "student_ce": student_ce,
            "teacher_ce": teacher_ce,
            "coupling": coupling,
            "accuracy": accuracy.detach(),
        }
