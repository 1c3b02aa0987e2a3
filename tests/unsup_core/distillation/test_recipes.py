"""The distillation experiments as recipes: a teacher on every label, a student distilled from it
with few labels, and privileged distillation (images, privileged table columns); their metrics,
data fields set from the data, callbacks and seeded determinism."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from sklearn.feature_selection import f_classif

from unsup_core.arrays import accuracy, count_parameters
from unsup_core.distillation import (
    MLPClassifier,
    PrivilegedConfig,
    StudentConfig,
    TeacherConfig,
    distil_student,
    privileged_distillation,
    train_teacher,
)
from unsup_core.stacked import StackedAutoencoderConfig, StackedEncoder
from unsup_core.training import Callback
from unsup_core.validation import build_config

TIMING = {"inference_ms_per_1000", "speed_ratio_teacher_to_student"}
STUDENT_METRICS = {
    "test/accuracy",
    "baseline/test_accuracy",
    "teacher/test_accuracy",
    "agreement_with_teacher",
    "n_params",
    "size_ratio_teacher_to_student",
    "speed_ratio_teacher_to_student",
}
PRIVILEGED_METRICS = {
    "test/accuracy",
    "baseline/test_accuracy",
    "separate/test_accuracy",
    "joint/test_accuracy",
    "teacher/test_accuracy",
    "joint/teacher_test_accuracy",
    "n_features_student",
    "n_features_privileged",
}


def without(metrics: dict[str, float], names: set[str]) -> dict[str, float]:
    """``metrics`` without the keys ``names`` (timings differ between runs)."""
    return {k: v for k, v in metrics.items() if k not in names}


class Stages(Callback):
    """Appends its stage to ``seen`` when a run starts."""

    def __init__(self, stage: str, seen: list) -> None:
        self.stage, self.seen = stage, seen

    def on_fit_start(self, model) -> None:
        self.seen.append(self.stage)


TEACHER = build_config(
    TeacherConfig,
    {"model": {"hidden": [16]}, "trainer": {"epochs": 3, "batch_size": 32, "lr": 1e-2}},
)
STUDENT = build_config(
    StudentConfig,
    {
        "model": {"hidden": [8]},
        "labels_per_class": 3,
        "trainer": {"steps": 40, "batch_size": 32, "lr": 3e-3},
    },
)


def privileged(**values) -> PrivilegedConfig:
    """Tiny teacher and student, 3 labels per class, 30 steps per fit."""
    return build_config(
        PrivilegedConfig,
        {
            "student": {"hidden": [8]},
            "teacher": {"hidden": [16], "dropout": 0.0},
            "labels_per_class": 3,
            "trainer": {"steps": 30, "batch_size": 32, "lr": 3e-3},
            "student_steps": 30,
            **values,
        },
    )


@pytest.fixture(scope="module")
def teacher_result(small_digits):
    """The tiny teacher trained on the small digits."""
    return train_teacher(small_digits, TEACHER)


def test_train_teacher(small_digits, teacher_result):
    teacher = teacher_result.models["teacher"]
    assert type(teacher) is MLPClassifier and list(teacher_result.models) == ["teacher"]
    assert (teacher.config.in_features, teacher.config.n_classes) == (64, 10)  # from the data
    assert TEACHER.model.in_features is None and TEACHER.model.n_classes is None  # a template
    metrics = teacher_result.metrics
    assert set(metrics) == {"test/accuracy", "n_params", "inference_ms_per_1000"}
    assert metrics["test/accuracy"] == accuracy(teacher, small_digits.test.X, small_digits.test.y)
    assert 0.3 < metrics["test/accuracy"] <= 1  # three epochs already beat chance (0.1)
    assert metrics["n_params"] == count_parameters(teacher) == 64 * 16 + 16 + 16 * 10 + 10
    assert metrics["inference_ms_per_1000"] > 0
    assert len(teacher_result.histories[""].epochs) == 3
    again = train_teacher(small_digits, TEACHER)
    assert without(again.metrics, TIMING) == without(metrics, TIMING)


@pytest.fixture(scope="module")
def student_result(small_digits, teacher_result):
    """The tiny student distilled from it, and the stages its callbacks saw."""
    seen = []
    result = distil_student(
        small_digits,
        teacher_result.models["teacher"],
        STUDENT,
        callbacks=lambda stage: [Stages(stage, seen)],
    )
    return result, seen


def test_distil_student(small_digits, teacher_result, student_result):
    result, seen = student_result
    teacher, student = teacher_result.models["teacher"], result.models["student"]
    assert type(student) is MLPClassifier and student.config.hidden == (8,)
    assert (student.config.in_features, student.config.n_classes) == (64, 10)
    assert result.tags == {"student_start": "scratch", "labels_per_class": "3"} and seen == [""]
    metrics = result.metrics
    assert set(metrics) == STUDENT_METRICS
    assert all(
        0 <= metrics[k] <= 1
        for k in (
            "test/accuracy",
            "baseline/test_accuracy",
            "teacher/test_accuracy",
            "agreement_with_teacher",
        )
    )
    assert metrics["teacher/test_accuracy"] == teacher_result.metrics["test/accuracy"]
    assert metrics["test/accuracy"] == accuracy(student, small_digits.test.X, small_digits.test.y)
    assert metrics["n_params"] == count_parameters(student)
    assert metrics["size_ratio_teacher_to_student"] == pytest.approx(
        count_parameters(teacher) / count_parameters(student)
    )
    assert metrics["speed_ratio_teacher_to_student"] > 0


def test_distil_student_is_deterministic_and_leaves_the_teacher_alone(
    small_digits, teacher_result, student_result
):
    teacher = teacher_result.models["teacher"]
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    again = distil_student(small_digits, teacher, STUDENT)
    assert without(again.metrics, TIMING) == without(student_result[0].metrics, TIMING)
    assert all((before[k] == v).all() for k, v in teacher.state_dict().items())


def test_mixup_inputs_join_the_students_data(small_digits, teacher_result, student_result):
    teacher = teacher_result.models["teacher"]
    mixed = distil_student(small_digits, teacher, dataclasses.replace(STUDENT, mixup_inputs=300))
    plain = student_result[0]
    assert mixed.metrics["baseline/test_accuracy"] == plain.metrics["baseline/test_accuracy"]
    a, b = mixed.models["student"].state_dict(), plain.models["student"].state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)  # other data, another student
    with pytest.raises(ValueError, match="mixup_inputs=-1 must be >= 0"):
        dataclasses.replace(STUDENT, mixup_inputs=-1)
    with pytest.raises(ValueError, match=r"mixup_beta=0\.0 > 0"):
        dataclasses.replace(STUDENT, mixup_beta=0.0)


def test_the_student_starts_from_an_encoder_on_the_same_inputs(small_digits, teacher_result):
    encoder = StackedEncoder(StackedAutoencoderConfig(in_features=64, layer_sizes=(12, 6)))
    result = distil_student(small_digits, teacher_result.models["teacher"], STUDENT, encoder)
    assert result.tags == {"student_start": "encoder", "labels_per_class": "3"}
    assert result.models["student"].config.hidden == (12,)  # init_layers=1 of the encoder
    assert result.models["student"].config.activation == "sigmoid"


@pytest.mark.parametrize("variant", ["separate", "joint"])
def test_privileged_distillation_on_images(small_digits, variant):
    seen = []
    result = privileged_distillation(
        small_digits, privileged(variant=variant), lambda stage: [Stages(stage, seen)]
    )
    metrics, student = result.metrics, result.models["privileged_student"]
    assert set(metrics) == PRIVILEGED_METRICS and result.tags == {
        "variant": variant,
        "privileged_view": "degraded image (pool4x4)",
        "degrade": "pool4x4",
        "labels_per_class": "3",
    }
    assert (metrics["n_features_student"], metrics["n_features_privileged"]) == (16, 64)
    assert type(student) is MLPClassifier
    assert (student.config.in_features, student.config.n_classes) == (16, 10)  # pool4x4 view
    assert metrics["test/accuracy"] == metrics[f"{variant}/test_accuracy"]
    assert all(0 <= value <= 1 for key, value in metrics.items() if "accuracy" in key)
    assert seen == ["separate/", "joint/"] and set(result.histories) == {"separate/", "joint/"}
    batches = math.ceil(len(small_digits.train) / 32)
    assert len(result.histories["separate/"].epochs) == math.ceil(30 / batches)  # a step budget


def test_privileged_distillation_is_deterministic(small_digits):
    first, second = (privileged_distillation(small_digits, privileged()) for _ in range(2))
    assert first.metrics == second.metrics


def test_privileged_columns_of_a_table(small_table):
    result = privileged_distillation(
        small_table, privileged(privileged_columns=["f4", "f5"], teacher_labels="all")
    )
    assert (result.metrics["n_features_student"], result.metrics["n_features_privileged"]) == (4, 2)
    student = result.models["privileged_student"]
    assert (student.config.in_features, student.config.n_classes) == (4, 3)


def test_a_bad_degrade_is_refused_when_the_config_is_built():
    with pytest.raises(ValueError, match=r"degrade='blur' is not one of"):
        privileged(degrade="blur")


def test_a_bad_degrade_still_fails_before_any_training(small_digits):
    with pytest.raises(ValueError, match=r"'blur' is not one of \['pool4x4', 'pixel_subset'\]"):
        privileged_distillation(small_digits, privileged(degrade="blur"))


def test_a_table_without_privileged_columns_gets_the_most_separating_quarter(small_table):
    config = privileged()
    result = privileged_distillation(small_table, config)
    # ceil(6 / 4) = 2 columns become x*: the two largest ANOVA F on the labelled objects
    labelled = small_table.few_labels(config.labels_per_class, config.seed)
    scores = f_classif(small_table.train.X[labelled], small_table.train.y[labelled])[0]
    top = sorted(np.argsort(-scores)[:2])
    assert result.tags["privileged_columns"] == ",".join(f"f{j}" for j in top)
    assert "f5" in result.tags["privileged_columns"]  # a column the conftest made separating
    assert result.tags["privileged_view"].startswith("columns: auto")
    assert (result.metrics["n_features_student"], result.metrics["n_features_privileged"]) == (
        4,
        2,
    )
    named = privileged_distillation(small_table, privileged(privileged_columns=["f0"]))
    assert named.tags["privileged_columns"] == "f0"
    assert named.tags["privileged_view"] == "columns: named"
    with pytest.raises(ValueError, match=r"privileged_columns \['f9'\] are not among"):
        privileged_distillation(small_table, privileged(privileged_columns=["f9"]))


def test_a_one_column_table_is_not_applicable(small_table):
    from unsup_core.applicability import why_not_applicable

    assert why_not_applicable(privileged_distillation, small_table) is None
    narrow = dataclasses.replace(
        small_table,
        train=dataclasses.replace(small_table.train, X=small_table.train.X[:, :1]),
        feature_names=("f0",),
    )
    assert "one feature column" in why_not_applicable(privileged_distillation, narrow)
    unlabelled = dataclasses.replace(
        small_table, train=dataclasses.replace(small_table.train, y=None)
    )
    assert "no labels" in why_not_applicable(privileged_distillation, unlabelled)


@pytest.mark.parametrize(
    "config_class, values, message",
    [
        (StudentConfig, {"init_from": "teacher"}, r"init_from='teacher' is not one of"),
        (StudentConfig, {"labels_per_class": 0}, r"labels_per_class=0 must be >= 1"),
        (StudentConfig, {"distillation": {"alpha": 2.0}}, r"alpha=2.0 must lie in \[0, 1\]"),
        (PrivilegedConfig, {"variant": "both"}, r"variant='both' is not one of"),
        (PrivilegedConfig, {"teacher_labels": "none"}, r"teacher_labels='none' is not one of"),
        (PrivilegedConfig, {"student_steps": 0}, r"student_steps=0 must be >= 1 or None"),
        (TeacherConfig, {"model": {"dropout": 1.0}}, r"dropout=1.0 must lie in \[0, 1\)"),
    ],
)
def test_bad_settings_raise(config_class, values, message):
    with pytest.raises(ValueError, match=message):
        build_config(config_class, values)
