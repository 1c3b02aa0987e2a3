"""Teacher, then student: distillation and learning with privileged information."""

from collections.abc import Callable

import numpy as np
from dagster import AssetExecutionContext, Output, asset
from torch import nn

from unsup_core.autoencoders import apply_array
from unsup_core.data import PreparedData
from unsup_core.distillation import (DistillationConfig, DistillationStudent,
                                     GeneralizedDistillationStudent, JointPrivilegedConfig,
                                     JointPrivilegedModel, MLPClassifier, MLPClassifierConfig,
                                     agreement, classifier_from_encoder, degrade,
                                     distillation_data, encoder_layers,
                                     inference_seconds_per_1000, joint_privileged_data,
                                     parameter_count, privileged_data, split_privileged)
from unsup_core.training import Trainer

from ..configs import PrivilegedStudentConfig, StudentModelConfig, TeacherModelConfig
from ..resources import MlflowTracking
from .data import CODE_VERSION


def classifier(in_features: int, hidden: list[int], n_classes: int, seed: int,
               dropout: float = 0.0) -> MLPClassifier:
    return MLPClassifier(MLPClassifierConfig(in_features=in_features, hidden=tuple(hidden),
                                             n_classes=n_classes, dropout=dropout, seed=seed))


def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(apply_array(model, X, "predict") == y))


@asset(group_name="distillation", code_version=CODE_VERSION, kinds={"pytorch"},
       io_manager_key="model_io_manager")
def teacher_model(context: AssetExecutionContext, config: TeacherModelConfig,
                  prepared_dataset: PreparedData, mlflow: MlflowTracking) -> Output[MLPClassifier]:
    """A large MLP a(x, w) trained "long and expensively" on every training label."""
    data = prepared_dataset
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        teacher = classifier(data.n_features, config.hidden, data.n_classes, config.seed)
        val = data.val.tensors() if len(data.val) else None
        Trainer(config.trainer.to_library(), callbacks=[run.epoch_logger()]).fit(
            teacher, data.train.tensors(), val)
        metrics = {"test/accuracy": accuracy(teacher, data.test.X, data.test.y),
                   "n_params": float(parameter_count(teacher)),
                   "inference_ms_per_1000": 1000 * inference_seconds_per_1000(teacher, data.test.X)}
        run.log_metrics(metrics)
        run.log_model(teacher, "model/teacher.pt")
    return Output(teacher, metadata={**run.dagster_metadata(), "teacher_accuracy": metrics["test/accuracy"]})


def student_start(config: StudentModelConfig, data: PreparedData, encoder: nn.Module
                  ) -> tuple[Callable[[], MLPClassifier], str]:
    """A maker of fresh students and what they start from: the first ``init_layers`` layers
    of the stacked autoencoder's encoder when asked and when that encoder is an MLP on the
    same inputs (its widths and activation), otherwise ``hidden`` from scratch."""
    if config.init_from == "stacked_autoencoder":
        try:
            layers = encoder_layers(encoder)
        except TypeError as err:
            return _scratch(config, data), f"scratch ({err})"
        if layers[0][0].in_features == data.n_features and config.init_layers <= len(layers):
            return (lambda: classifier_from_encoder(encoder, data.n_classes, config.init_layers,
                                                    config.seed), "stacked_autoencoder")
        return _scratch(config, data), (f"scratch (encoder takes {layers[0][0].in_features} "
                                        f"features in {len(layers)} layers)")
    return _scratch(config, data), "scratch"


def _scratch(config: StudentModelConfig, data: PreparedData) -> Callable[[], MLPClassifier]:
    return lambda: classifier(data.n_features, config.hidden, data.n_classes, config.seed)


@asset(group_name="distillation", code_version=CODE_VERSION, kinds={"pytorch"},
       io_manager_key="model_io_manager")
def student_model(context: AssetExecutionContext, config: StudentModelConfig,
                  prepared_dataset: PreparedData, teacher_model: MLPClassifier,
                  stacked_autoencoder: nn.Module, mlflow: MlflowTracking) -> Output[MLPClassifier]:
    """A small student distilled from the teacher (few labels + soft targets on every training
    object), starting from the stacked autoencoder's first layer(s) where that encoder fits
    (``init_from``), logged beside the same student trained on the labels alone."""
    data = prepared_dataset
    labelled = data.few_labels(config.labels_per_class, config.seed)
    make_student, start = student_start(config, data, stacked_autoencoder)
    if start.startswith("scratch ("):
        context.log.warning(f"student_model starts from {start}")
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        baseline = make_student()
        Trainer(config.trainer.to_library().for_steps(config.steps, len(labelled))).fit(
            baseline, {"x": data.train.X[labelled], "y": data.train.y[labelled]})
        student = make_student()
        wrapper = DistillationStudent(student, DistillationConfig(config.temperature, config.alpha))
        train = distillation_data(teacher_model, data.train.X, data.train.y, labelled)
        Trainer(config.trainer.to_library().for_steps(config.steps, len(data.train)),
                callbacks=[run.epoch_logger()]).fit(wrapper, train)
        teacher_ms = inference_seconds_per_1000(teacher_model, data.test.X)
        student_ms = inference_seconds_per_1000(student, data.test.X)
        metrics = {"test/accuracy": accuracy(student, data.test.X, data.test.y),
                   "baseline/test_accuracy": accuracy(baseline, data.test.X, data.test.y),
                   "teacher/test_accuracy": accuracy(teacher_model, data.test.X, data.test.y),
                   "agreement_with_teacher": agreement(apply_array(student, data.test.X, "predict"),
                                                       apply_array(teacher_model, data.test.X, "predict")),
                   "n_params": float(parameter_count(student)),
                   "size_ratio_teacher_to_student": parameter_count(teacher_model) / parameter_count(student),
                   "speed_ratio_teacher_to_student": teacher_ms / student_ms}
        run.log_metrics(metrics)
        run.set_tags({"student_start": start})
        run.log_model(student, "model/student.pt")
    return Output(student, metadata={**run.dagster_metadata(), "student_start": start,
                                     "student_accuracy": metrics["test/accuracy"],
                                     "baseline_accuracy": metrics["baseline/test_accuracy"]})


@asset(group_name="distillation", code_version=CODE_VERSION, kinds={"pytorch"},
       io_manager_key="model_io_manager")
def privileged_student(context: AssetExecutionContext, config: PrivilegedStudentConfig,
                       prepared_dataset: PreparedData, mlflow: MlflowTracking) -> Output[MLPClassifier]:
    """Generalized distillation (Lopez-Paz et al. 2016) with privileged x*: separate (a teacher
    on x*, then a student on x alone with CE + mu * imitation of the teacher on every training
    object) and joint (teacher and student trained at once with the coupling term), beside the
    student alone; returns the student of ``config.variant``."""
    data = prepared_dataset
    with mlflow.asset_run(context, params=config.model_dump()) as run:  # errors end it FAILED
        if config.privileged_columns:
            views = {name: split_privileged(split.X, data.feature_names, config.privileged_columns)
                     for name, split in (("train", data.train), ("test", data.test))}
        elif data.image_shape is not None:
            views = {name: (degrade(split.X, data.image_shape, config.degrade), split.X)
                     for name, split in (("train", data.train), ("test", data.test))}
        else:
            raise ValueError(
                f"{data.source}: privileged_student needs image data (x = a degraded view) or "
                "privileged_columns naming the columns only seen in training (set "
                "ops.privileged_student.config.privileged_columns, e.g. in sensor.yaml)")
        (x_train, x_star), (x_test, x_star_test) = views["train"], views["test"]
        labelled = data.few_labels(config.labels_per_class, config.seed)
        y, y_test = data.train.y, data.test.y
        trainer = config.trainer.to_library()
        teacher = classifier(x_star.shape[1], config.teacher_hidden, data.n_classes, config.seed,
                             config.teacher_dropout)
        rows = labelled if config.teacher_labels == "same" else np.arange(len(x_star))
        Trainer(trainer.for_steps(config.steps, len(rows))).fit(
            teacher, {"x": x_star[rows], "y": y[rows]})
        alone = classifier(x_train.shape[1], config.hidden, data.n_classes, config.seed)
        Trainer(trainer.for_steps(config.steps, len(labelled))).fit(
            alone, {"x": x_train[labelled], "y": y[labelled]})
        student = classifier(x_train.shape[1], config.hidden, data.n_classes, config.seed)
        wrapper = GeneralizedDistillationStudent(student, config.temperature, config.mu)
        student_steps = config.student_steps or config.steps
        Trainer(trainer.for_steps(student_steps, len(x_train)),
                callbacks=[run.epoch_logger("separate/")]).fit(
            wrapper, privileged_data(teacher, x_train, x_star, y, labelled))
        joint = JointPrivilegedModel(JointPrivilegedConfig(
            x_train.shape[1], x_star.shape[1], data.n_classes, tuple(config.hidden),
            tuple(config.teacher_hidden), mu=config.mu, temperature=config.temperature,
            coupling_to_teacher=config.coupling_to_teacher, seed=config.seed))
        Trainer(trainer.for_steps(config.steps, len(x_train)), callbacks=[run.epoch_logger("joint/")]).fit(
            joint, joint_privileged_data(x_train, x_star, y, labelled))
        chosen = student if config.variant == "separate" else joint.student
        metrics = {"test/accuracy": accuracy(chosen, x_test, y_test),
                   "baseline/test_accuracy": accuracy(alone, x_test, y_test),
                   "separate/test_accuracy": accuracy(student, x_test, y_test),
                   "joint/test_accuracy": accuracy(joint.student, x_test, y_test),
                   "teacher/test_accuracy": accuracy(teacher, x_star_test, y_test),
                   "joint/teacher_test_accuracy": accuracy(joint.teacher, x_star_test, y_test),
                   "n_features_student": float(x_train.shape[1]),
                   "n_features_privileged": float(x_star.shape[1])}
        run.log_metrics(metrics)
        run.set_tags({"variant": config.variant})
        run.log_model(chosen, "model/privileged_student.pt")
    return Output(chosen, metadata={**run.dagster_metadata(), "variant": config.variant,
                                    "lupi_accuracy": metrics["test/accuracy"],
                                    "lupi_separate_accuracy": metrics["separate/test_accuracy"],
                                    "lupi_joint_accuracy": metrics["joint/test_accuracy"],
                                    "lupi_baseline_accuracy": metrics["baseline/test_accuracy"]})
