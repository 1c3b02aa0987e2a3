"""Teacher, then student: distillation and learning with privileged information."""

import numpy as np
from dagster import AssetExecutionContext, Output, asset

from unsup_core.autoencoders import apply_array
from unsup_core.data import PreparedData
from unsup_core.distillation import (DistillationConfig, DistillationStudent,
                                     GeneralizedDistillationStudent, MLPClassifier,
                                     MLPClassifierConfig, agreement, degrade, distillation_data,
                                     inference_seconds_per_1000, parameter_count, privileged_data,
                                     split_privileged)
from unsup_core.training import Trainer

from ..configs import PrivilegedStudentConfig, StudentModelConfig, TeacherModelConfig
from ..resources import MlflowTracking
from .data import CODE_VERSION


def classifier(in_features: int, hidden: list[int], n_classes: int, seed: int) -> MLPClassifier:
    return MLPClassifier(MLPClassifierConfig(in_features=in_features, hidden=tuple(hidden),
                                             n_classes=n_classes, seed=seed))


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


@asset(group_name="distillation", code_version=CODE_VERSION, kinds={"pytorch"},
       io_manager_key="model_io_manager")
def student_model(context: AssetExecutionContext, config: StudentModelConfig,
                  prepared_dataset: PreparedData, teacher_model: MLPClassifier,
                  mlflow: MlflowTracking) -> Output[MLPClassifier]:
    """A small student distilled from the teacher (few labels + soft targets on every training
    object), logged beside the same student trained on the labels alone."""
    data = prepared_dataset
    labelled = data.few_labels(config.labels_per_class, config.seed)
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        baseline = classifier(data.n_features, config.hidden, data.n_classes, config.seed)
        Trainer(config.trainer.to_library().for_steps(config.steps, len(labelled))).fit(
            baseline, {"x": data.train.X[labelled], "y": data.train.y[labelled]})
        student = classifier(data.n_features, config.hidden, data.n_classes, config.seed)
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
        run.log_model(student, "model/student.pt")
    return Output(student, metadata={**run.dagster_metadata(),
                                     "student_accuracy": metrics["test/accuracy"],
                                     "baseline_accuracy": metrics["baseline/test_accuracy"]})


@asset(group_name="distillation", code_version=CODE_VERSION, kinds={"pytorch"},
       io_manager_key="model_io_manager")
def privileged_student(context: AssetExecutionContext, config: PrivilegedStudentConfig,
                       prepared_dataset: PreparedData, mlflow: MlflowTracking) -> Output[MLPClassifier]:
    """Generalized distillation (Lopez-Paz et al. 2016): a teacher on the privileged x*, then a
    student on x alone with CE + mu * imitation of the teacher; beside the student alone."""
    data = prepared_dataset
    if config.privileged_columns:
        views = {name: split_privileged(split.X, data.feature_names, config.privileged_columns)
                 for name, split in (("train", data.train), ("test", data.test))}
    elif data.image_shape is not None:
        views = {name: (degrade(split.X, data.image_shape, config.degrade), split.X)
                 for name, split in (("train", data.train), ("test", data.test))}
    else:
        raise ValueError("privileged_student needs image data (degraded view) or privileged_columns")
    (x_train, x_star), (x_test, _) = views["train"], views["test"]
    labelled = data.few_labels(config.labels_per_class, config.seed)
    y_labelled = data.train.y[labelled]
    trainer = config.trainer.to_library()
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        teacher = classifier(x_star.shape[1], [64], data.n_classes, config.seed)
        rows = labelled if config.teacher_labels == "same" else np.arange(len(x_star))
        Trainer(trainer.for_steps(config.steps, len(rows))).fit(
            teacher, {"x": x_star[rows], "y": data.train.y[rows]})
        alone = classifier(x_train.shape[1], config.hidden, data.n_classes, config.seed)
        Trainer(trainer.for_steps(config.steps, len(labelled))).fit(
            alone, {"x": x_train[labelled], "y": y_labelled})
        student = classifier(x_train.shape[1], config.hidden, data.n_classes, config.seed)
        wrapper = GeneralizedDistillationStudent(student, config.temperature, config.mu)
        Trainer(trainer.for_steps(config.steps, len(x_train)), callbacks=[run.epoch_logger()]).fit(
            wrapper, privileged_data(teacher, x_train, x_star, data.train.y, labelled))
        metrics = {"test/accuracy": accuracy(student, x_test, data.test.y),
                   "baseline/test_accuracy": accuracy(alone, x_test, data.test.y),
                   "teacher/test_accuracy": accuracy(teacher, views["test"][1], data.test.y),
                   "n_features_student": float(x_train.shape[1]),
                   "n_features_privileged": float(x_star.shape[1])}
        run.log_metrics(metrics)
        run.log_model(student, "model/privileged_student.pt")
    return Output(student, metadata={**run.dagster_metadata(),
                                     "lupi_accuracy": metrics["test/accuracy"],
                                     "lupi_baseline_accuracy": metrics["baseline/test_accuracy"]})
