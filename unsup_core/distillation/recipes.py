"""The distillation experiments as single calls: a teacher on every label, a small student
distilled from it with few labels, and learning using privileged information (separate and
joint generalized distillation beside the student alone)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from torch import nn

from ..applicability import labels, requires
from ..arrays import accuracy, apply_array, count_parameters
from ..data.prepare import PreparedData
from ..results import ExperimentResult
from ..training import StageCallbacks, Trainer, TrainerConfig, no_callbacks
from ..validation import check_choice, choices, config_part
from .losses import LUPI_TEMPERATURE, check_mu, check_temperature
from .models import (
    MLPClassifier,
    MLPClassifierConfig,
    agreement,
    classifier_from_encoder,
    encoder_layers,
    inference_seconds_per_1000,
)
from .privileged import (
    DEGRADE_MODES,
    Degrade,
    GeneralizedDistillationStudent,
    JointPrivilegedConfig,
    JointPrivilegedModel,
    degrade,
    joint_privileged_data,
    privileged_data,
    split_privileged,
)
from .student import DistillationConfig, DistillationStudent, distillation_data, mixup_inputs

InitFrom = Literal["scratch", "encoder"]
TeacherLabels = Literal["same", "all"]
Variant = Literal["separate", "joint"]
INIT_FROM, TEACHER_LABELS, VARIANTS = choices(InitFrom), choices(TeacherLabels), choices(Variant)


@dataclass(frozen=True)
class TeacherConfig:
    """The large teacher a(x, w), trained "long and expensively" on every training label.

    Parameters
    ----------
    model : the teacher MLP (input width and classes come from the data).
    trainer : the shared trainer's settings (best weights on the validation split).
    """

    model: MLPClassifierConfig = field(default_factory=MLPClassifierConfig)
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(epochs=60, batch_size=32, lr=1e-3)
    )


@dataclass(frozen=True)
class StudentConfig:
    """A small student b(x, w') trained on few labels plus the teacher's soft targets on every
    training object (Hinton et al. 2015), beside the same student on the labels alone.

    Parameters
    ----------
    model : the student MLP trained from scratch (input width and classes from the data).
    init_from : "encoder" starts the hidden layers from a given encoder's first
        ``init_layers`` layers (their widths and activation) when it is an MLP on the same
        inputs, else the student starts from scratch; "scratch" always does.
    init_layers : encoder layers copied when starting from an encoder.
    labels_per_class : labelled training objects per class (``None``: 10, or the smallest
        class's training count when it has fewer).
    distillation : temperature T and the weight alpha of the label term.
    mixup_inputs : m >= 0 mixup inputs lambda x_i + (1 - lambda) x_j of training rows,
        lambda ~ Beta(mixup_beta, mixup_beta), added to the student's data with the teacher's
        soft targets and no label (0: none); more teacher answers between the classes.
    mixup_beta : the Beta distribution's parameter (> 0).
    trainer : the trainer of each student (a step budget: the labels-only baseline sees as
        many optimiser steps as the distilled student).
    seed : seed of the label draw.
    """

    model: MLPClassifierConfig = field(default_factory=lambda: MLPClassifierConfig(hidden=(16,)))
    init_from: InitFrom = "encoder"
    init_layers: int = 1
    labels_per_class: int | None = None
    distillation: DistillationConfig = config_part(DistillationConfig(), ("task",))
    mixup_inputs: int = 0
    mixup_beta: float = 0.4
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(steps=12000, batch_size=32, lr=3e-3)
    )
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("init_from", self.init_from, INIT_FROM)
        if self.mixup_inputs < 0 or not self.mixup_beta > 0:
            raise ValueError(
                f"mixup_inputs={self.mixup_inputs} must be >= 0 and mixup_beta="
                f"{self.mixup_beta} > 0"
            )
        budget = self.labels_per_class
        if self.init_layers < 1 or (budget is not None and budget < 1):
            raise ValueError(
                f"init_layers={self.init_layers} and labels_per_class="
                f"{self.labels_per_class} must be >= 1"
            )


@dataclass(frozen=True)
class PrivilegedConfig:
    """Learning using privileged information: the teacher sees x* (the full image, or the
    privileged columns), the student only x (a degraded view, or the other columns).

    Parameters
    ----------
    degrade : the student's view x of an image: "pool4x4" or "pixel_subset".
    privileged_columns : tables: the columns only seen in training (named after encoding,
        e.g. ``q3=y``); the student sees the others. Empty on a table: the top quarter of the
        columns by ANOVA F on the labelled objects (:func:`auto_privileged_columns`).
    teacher_labels : the teacher on x* learns from the student's labels only ("same") or from
        every training label ("all").
    variant : the student handed on: "separate" (teacher first, then the student) or "joint"
        (both at once with the coupling term); both are trained and measured.
    student : the student MLP on x (also the student alone and the joint model's student).
    teacher : the teacher MLP on x* (the joint teacher takes its widths, without dropout).
    coupling_to_teacher : joint: the coupling term also moves the teacher.
    labels_per_class : labelled training objects per class (``None``: 20, or the smallest
        class's training count when it has fewer).
    temperature : T of the teacher's soft targets.
    mu : weight of the imitation (coupling) term.
    trainer : the trainer of the teacher, the student alone and the joint model.
    student_steps : optimiser steps of the separately distilled student (``None``: as
        ``trainer``); chosen on validation.
    seed : seed of the label draw and the joint model.
    """

    degrade: Degrade = "pool4x4"
    privileged_columns: tuple[str, ...] = ()
    teacher_labels: TeacherLabels = "same"
    variant: Variant = "separate"
    student: MLPClassifierConfig = field(default_factory=lambda: MLPClassifierConfig(hidden=(32,)))
    teacher: MLPClassifierConfig = field(
        default_factory=lambda: MLPClassifierConfig(hidden=(256, 256), dropout=0.5)
    )
    coupling_to_teacher: bool = False
    labels_per_class: int | None = None
    temperature: float = LUPI_TEMPERATURE
    mu: float = 10.0
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(steps=3000, batch_size=32, lr=3e-3)
    )
    student_steps: int | None = 6000
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "privileged_columns", tuple(self.privileged_columns))
        check_choice("degrade", self.degrade, DEGRADE_MODES)
        check_choice("teacher_labels", self.teacher_labels, TEACHER_LABELS)
        check_choice("variant", self.variant, VARIANTS)
        if self.student_steps is not None and self.student_steps < 1:
            raise ValueError(f"student_steps={self.student_steps} must be >= 1 or None")
        if self.labels_per_class is not None and self.labels_per_class < 1:
            raise ValueError(f"labels_per_class={self.labels_per_class} must be >= 1 or None")
        check_mu(self.mu)
        check_temperature(self.temperature)


@requires(labels)
def train_teacher(
    data: PreparedData,
    config: TeacherConfig | None = None,
    callbacks: StageCallbacks = no_callbacks,
) -> ExperimentResult:
    """A(x, w) on every training label. Metrics: ``test/accuracy``, ``n_params``,
    ``inference_ms_per_1000``; ``models["teacher"]``."""
    config = config or TeacherConfig()
    teacher = MLPClassifier(
        replace(config.model, in_features=data.n_features, n_classes=data.n_classes)
    )
    val = data.val.tensors() if len(data.val) else None
    history = Trainer(config.trainer, callbacks("")).fit(teacher, data.train.tensors(), val)
    return ExperimentResult(
        models={"teacher": teacher},
        histories={"": history},
        metrics={
            "test/accuracy": accuracy(teacher, data.test.X, data.test.y),
            "n_params": float(count_parameters(teacher)),
            "inference_ms_per_1000": 1000 * inference_seconds_per_1000(teacher, data.test.X),
        },
    )


def student_maker(
    config: StudentConfig, data: PreparedData, encoder: nn.Module | None
) -> tuple[Callable[[], MLPClassifier], str]:
    """A maker of fresh students and what they start from: the first ``init_layers`` layers of
    ``encoder`` when asked and when it is an MLP on the same inputs, else ``model`` from
    scratch (the reason in the description)."""
    scratch = replace(config.model, in_features=data.n_features, n_classes=data.n_classes)
    if config.init_from == "scratch" or encoder is None:
        return (lambda: MLPClassifier(scratch)), "scratch"
    try:
        layers = encoder_layers(encoder)
    except TypeError as err:
        return (lambda: MLPClassifier(scratch)), f"scratch ({err})"
    if layers[0][0].in_features != data.n_features or config.init_layers > len(layers):
        return (lambda: MLPClassifier(scratch)), (
            f"scratch (encoder takes {layers[0][0].in_features} features in {len(layers)} layers)"
        )
    return (
        lambda: classifier_from_encoder(
            encoder, data.n_classes, config.init_layers, config.model.seed
        )
    ), "encoder"


@requires(labels)
def distil_student(
    data: PreparedData,
    teacher: nn.Module,
    config: StudentConfig | None = None,
    encoder: nn.Module | None = None,
    callbacks: StageCallbacks = no_callbacks,
) -> ExperimentResult:
    """The student on few labels plus the teacher's soft targets on every training object (and
    on ``config.mixup_inputs`` mixup inputs), minimising alpha CE(b(x), y) + (1 - alpha) T^2
    KL(softmax(a(x) / T) || softmax(b(x) / T)),
    and the same network on the labels alone as the baseline. Metrics: ``test/accuracy``,
    ``baseline/test_accuracy``, ``teacher/test_accuracy``, ``agreement_with_teacher``,
    ``n_params``, ``size_ratio_teacher_to_student``, ``speed_ratio_teacher_to_student``."""
    config = config or StudentConfig()
    make_student, start = student_maker(config, data, encoder)
    per_class = data.label_budget(config.labels_per_class, preferred=10)
    labelled = data.few_labels(per_class, config.seed)
    X, y, test = data.train.X, data.train.y, data.test
    baseline = make_student()
    Trainer(config.trainer).fit(baseline, {"x": X[labelled], "y": y[labelled]})
    student = make_student()
    wrapper = DistillationStudent(student, config.distillation)
    extra = None
    if config.mixup_inputs:
        extra = mixup_inputs(X, config.mixup_inputs, config.mixup_beta, config.seed)
    history = Trainer(config.trainer, callbacks("")).fit(
        wrapper, distillation_data(teacher, X, y, labelled, extra)
    )
    teacher_ms = inference_seconds_per_1000(teacher, test.X)
    student_ms = inference_seconds_per_1000(student, test.X)
    metrics = {
        "test/accuracy": accuracy(student, test.X, test.y),
        "baseline/test_accuracy": accuracy(baseline, test.X, test.y),
        "teacher/test_accuracy": accuracy(teacher, test.X, test.y),
        "agreement_with_teacher": agreement(
            apply_array(student, test.X, "predict"), apply_array(teacher, test.X, "predict")
        ),
        "n_params": float(count_parameters(student)),
        "size_ratio_teacher_to_student": count_parameters(teacher) / count_parameters(student),
        "speed_ratio_teacher_to_student": teacher_ms / student_ms,
    }
    return ExperimentResult(
        models={"student": student},
        metrics=metrics,
        histories={"": history},
        tags={"student_start": start, "labels_per_class": str(per_class)},
    )


AUTO_PRIVILEGED_SHARE = 0.25  # share of a table's columns chosen as x* when none are named


def privileged_view(data: PreparedData) -> str | None:
    """Images have a degraded view; a table needs two columns to split into x and x*."""
    if data.image_shape is not None or data.n_features >= 2:
        return None
    return "a table with one feature column cannot be split into x and privileged x*"


def auto_privileged_columns(data: PreparedData, labelled: np.ndarray) -> tuple[str, ...]:
    """x* of a table whose privileged columns are not named: the ceil(d / 4) columns (at
    least one, at most d - 1) that best separate the classes on the labelled training objects
    (ANOVA F statistic, ``sklearn.feature_selection.f_classif``; NaN counts as 0)."""
    from sklearn.feature_selection import f_classif

    d = data.n_features
    count = min(max(1, int(np.ceil(AUTO_PRIVILEGED_SHARE * d))), d - 1)
    with np.errstate(all="ignore"):
        scores, _ = f_classif(data.train.X[labelled], data.train.y[labelled])
    order = np.argsort(-np.nan_to_num(scores, nan=0.0), kind="stable")[:count]
    return tuple(data.feature_names[j] for j in sorted(order))


def privileged_views(
    data: PreparedData, config: PrivilegedConfig, labelled: np.ndarray
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, str]]:
    """(x, x*) of the training and test splits, and tags saying how they were made: the
    named columns of a table (or :func:`auto_privileged_columns`), or a degraded view and the
    full image (``pool4x4`` falls back to ``pixel_subset`` when a side is not a multiple of
    4)."""
    splits = {"train": data.train, "test": data.test}
    if data.image_shape is not None and not config.privileged_columns:
        mode = config.degrade
        if mode == "pool4x4" and any(int(s) % 4 for s in data.image_shape[-2:]):
            mode = "pixel_subset"
        views = {
            name: (degrade(split.X, data.image_shape[-2:], mode), split.X)
            for name, split in splits.items()
        }
        return views, {"privileged_view": f"degraded image ({mode})", "degrade": mode}
    columns, chosen = config.privileged_columns, "named"
    if not columns:
        columns, chosen = auto_privileged_columns(data, labelled), "auto (ANOVA F, top quarter)"
    views = {
        name: split_privileged(split.X, data.feature_names, columns)
        for name, split in splits.items()
    }
    return views, {"privileged_view": f"columns: {chosen}", "privileged_columns": ",".join(columns)}


@requires(labels, privileged_view)
def privileged_distillation(
    data: PreparedData,
    config: PrivilegedConfig | None = None,
    callbacks: StageCallbacks = no_callbacks,
) -> ExperimentResult:
    """Generalized distillation (Lopez-Paz et al. 2016) with privileged x*: separate (a teacher
    on x*, then a student on x alone minimising (1 - lambda) CE(b(x), y) + lambda CE(b(x),
    softmax(a(x*) / T)), lambda = mu / (1 + mu)) and joint (teacher and student at once with the
    coupling term), beside the student alone. ``models["privileged_student"]`` is the student
    of ``config.variant``; callbacks of stages ``"separate/"`` and ``"joint/"``."""
    config = config or PrivilegedConfig()
    per_class = data.label_budget(config.labels_per_class, preferred=20)
    labelled = data.few_labels(per_class, config.seed)
    views, view_tags = privileged_views(data, config, labelled)
    (x, x_star), (x_test, x_star_test) = views["train"], views["test"]
    y, y_test, n_classes = data.train.y, data.test.y, data.n_classes
    teacher = MLPClassifier(
        replace(config.teacher, in_features=x_star.shape[1], n_classes=n_classes)
    )
    rows = labelled if config.teacher_labels == "same" else np.arange(len(x_star))
    Trainer(config.trainer).fit(teacher, {"x": x_star[rows], "y": y[rows]})
    student_config = replace(config.student, in_features=x.shape[1], n_classes=n_classes)
    alone = MLPClassifier(student_config)
    Trainer(config.trainer).fit(alone, {"x": x[labelled], "y": y[labelled]})
    student = MLPClassifier(student_config)
    student_trainer = (
        config.trainer
        if config.student_steps is None
        else replace(config.trainer, epochs=None, steps=config.student_steps)
    )
    separate = Trainer(student_trainer, callbacks("separate/")).fit(
        GeneralizedDistillationStudent(student, config.temperature, config.mu),
        privileged_data(teacher, x, x_star, y, labelled),
    )
    joint = JointPrivilegedModel(
        JointPrivilegedConfig(
            x.shape[1],
            x_star.shape[1],
            n_classes,
            config.student.hidden,
            config.teacher.hidden,
            config.student.activation,
            mu=config.mu,
            temperature=config.temperature,
            coupling_to_teacher=config.coupling_to_teacher,
            seed=config.seed,
        )
    )
    joint_history = Trainer(config.trainer, callbacks("joint/")).fit(
        joint, joint_privileged_data(x, x_star, y, labelled)
    )
    chosen = student if config.variant == "separate" else joint.student
    metrics = {
        "test/accuracy": accuracy(chosen, x_test, y_test),
        "baseline/test_accuracy": accuracy(alone, x_test, y_test),
        "separate/test_accuracy": accuracy(student, x_test, y_test),
        "joint/test_accuracy": accuracy(joint.student, x_test, y_test),
        "teacher/test_accuracy": accuracy(teacher, x_star_test, y_test),
        "joint/teacher_test_accuracy": accuracy(joint.teacher, x_star_test, y_test),
        "n_features_student": float(x.shape[1]),
        "n_features_privileged": float(x_star.shape[1]),
    }
    return ExperimentResult(
        models={"privileged_student": chosen},
        metrics=metrics,
        histories={"separate/": separate, "joint/": joint_history},
        tags={"variant": config.variant, "labels_per_class": str(per_class), **view_tags},
    )
