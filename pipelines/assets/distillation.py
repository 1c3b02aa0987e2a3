"""Teacher, then student: distillation and learning with privileged information."""

from dagster import AssetExecutionContext, Output
from torch import nn

from unsup_core.applicability import NotApplicable
from unsup_core.data import PreparedData
from unsup_core.distillation import (
    MLPClassifier,
    PrivilegedConfig,
    StudentConfig,
    TeacherConfig,
    distil_student,
    privileged_distillation,
    train_teacher,
)

from ..configs import dagster_config
from ..distributed import DistributedTraining
from ..resources import MlflowTracking
from ..versioning import recipe_asset

TeacherModelConfig = dagster_config(TeacherConfig)
StudentModelConfig = dagster_config(StudentConfig)
PrivilegedStudentConfig = dagster_config(PrivilegedConfig)


@recipe_asset(
    train_teacher, group_name="distillation", kinds={"pytorch"}, io_manager_key="model_io_manager"
)
def teacher_model(
    context: AssetExecutionContext,
    config: TeacherModelConfig,
    prepared_dataset: PreparedData,
    mlflow: MlflowTracking,
    distributed: DistributedTraining,
) -> Output[MLPClassifier]:
    """A large MLP a(x, w) trained "long and expensively" on every training label."""
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        train = distributed.recipe(context, train_teacher)  # N processes when configured
        result = train(prepared_dataset, config.to_library(), callbacks=run.stage_callbacks)
        run.log_result(result)
    return Output(
        result.models["teacher"],
        metadata={**run.dagster_metadata(), "teacher_accuracy": result.metrics["test/accuracy"]},
    )


@recipe_asset(
    distil_student,
    optional_inputs=("stacked_autoencoder",),
    group_name="distillation",
    kinds={"pytorch"},
    io_manager_key="model_io_manager",
)
def student_model(
    context: AssetExecutionContext,
    config: StudentModelConfig,
    prepared_dataset: PreparedData,
    teacher_model: MLPClassifier,
    stacked_autoencoder: nn.Module,
    mlflow: MlflowTracking,
) -> Output[MLPClassifier]:
    """A small student distilled from the teacher (few labels + soft targets on every training
    object), beside the same student on the labels alone; it may start from the stacked
    autoencoder's encoder (``init_from: encoder``); from scratch when that does not apply."""
    encoder = None if isinstance(stacked_autoencoder, NotApplicable) else stacked_autoencoder
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        if encoder is None and config.init_from == "encoder":
            run.set_tags({"student_start_fallback": f"scratch: {stacked_autoencoder}"})
        result = distil_student(
            prepared_dataset,
            teacher_model,
            config.to_library(),
            encoder,
            run.stage_callbacks,
        )
        run.log_result(result)
    return Output(
        result.models["student"],
        metadata={
            **run.dagster_metadata(),
            "student_start": result.tags["student_start"],
            "student_accuracy": result.metrics["test/accuracy"],
            "baseline_accuracy": result.metrics["baseline/test_accuracy"],
        },
    )


@recipe_asset(
    privileged_distillation,
    group_name="distillation",
    kinds={"pytorch"},
    io_manager_key="model_io_manager",
)
def privileged_student(
    context: AssetExecutionContext,
    config: PrivilegedStudentConfig,
    prepared_dataset: PreparedData,
    mlflow: MlflowTracking,
) -> Output[MLPClassifier]:
    """Generalized distillation (Lopez-Paz et al. 2016) with privileged x*: separate (a teacher
    on x*, then a student on x alone with CE + mu * imitation of the teacher on every training
    object) and joint (teacher and student trained at once with the coupling term), beside the
    student alone; returns the student of ``config.variant``."""
    with mlflow.asset_run(context, params=config.model_dump()) as run:  # errors end it FAILED
        result = privileged_distillation(prepared_dataset, config.to_library(), run.stage_callbacks)
        run.log_result(result)
    metrics = result.metrics
    return Output(
        result.models["privileged_student"],
        metadata={
            **run.dagster_metadata(),
            "variant": result.tags["variant"],
            "privileged_view": result.tags["privileged_view"],
            "lupi_accuracy": metrics["test/accuracy"],
            "lupi_separate_accuracy": metrics["separate/test_accuracy"],
            "lupi_joint_accuracy": metrics["joint/test_accuracy"],
            "lupi_baseline_accuracy": metrics["baseline/test_accuracy"],
        },
    )
