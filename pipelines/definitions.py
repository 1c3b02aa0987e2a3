"""The Dagster code location: assets, checks, resources, the job, its schedule and sensor
(see workspace.yaml)."""

from dagster import AssetSelection, Definitions, define_asset_job

from .assets.autoencoder import plain_autoencoder
from .assets.autoencoder_zoo import autoencoder_zoo
from .assets.data import prepared_dataset, raw_dataset
from .assets.distillation import privileged_student, student_model, teacher_model
from .assets.generative import gan_model
from .assets.registry import registered_models
from .assets.report import experiment_report
from .assets.som import code_som, data_som
from .assets.transfer import ssl_encoder, stacked_autoencoder, transfer_models
from .assets.validation import validated_run_config
from .checks import (
    FAILURE_CHECKS,
    MODEL_OUTPUT_CHECKS,
    prepared_class_balance,
    prepared_no_nan,
    prepared_split_sizes,
    reconstruction_gate,
    student_accuracy_gate,
    topographic_error_gate,
)
from .distributed import DistributedTraining
from .hooks import mlflow_failure_hook
from .io_managers import PickleIOManager, TorchModelIOManager
from .presets import load_preset
from .profiles import executor
from .resources import MlflowTracking
from .run_logging import RUN_LOGGERS
from .schedules import build_retrain_schedule
from .sensors import (
    build_incoming_data_sensor,
    build_orphaned_runs_sensor,
    build_run_settling_sensors,
)

ASSETS = [
    raw_dataset,
    prepared_dataset,
    validated_run_config,
    plain_autoencoder,
    autoencoder_zoo,
    data_som,
    ssl_encoder,
    stacked_autoencoder,
    transfer_models,
    teacher_model,
    student_model,
    privileged_student,
    code_som,
    registered_models,
    experiment_report,
    gan_model,
]
CHECKS = [
    prepared_no_nan,
    prepared_split_sizes,
    prepared_class_balance,
    reconstruction_gate,
    student_accuracy_gate,
    topographic_error_gate,
    *MODEL_OUTPUT_CHECKS,
    *FAILURE_CHECKS,
]
JOB_NAME = "unsup_pipeline"
# No blanket retry policy: Dagster would retry an interrupted step. Transient errors get one more
# try, deterministic ones fail at once and interrupts cancel the run (see pipelines.failures).


def build_definitions(
    mlflow: MlflowTracking | None = None,
    model_io_manager: TorchModelIOManager | None = None,
    io_manager: PickleIOManager | None = None,
) -> Definitions:
    """Definitions with the given resources (tests pass a temporary MLflow store)."""
    job = define_asset_job(
        JOB_NAME,
        selection=AssetSelection.all(),
        executor_def=executor(),
        config=load_preset("default"),
        hooks={mlflow_failure_hook},
        description="The whole asset graph on the configured data "
        "(launchpad prefilled with the 'default' preset).",
    )
    return Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=[job],
        schedules=[build_retrain_schedule(job)],
        sensors=[
            build_incoming_data_sensor(job),
            *build_run_settling_sensors(job),
            build_orphaned_runs_sensor(),
        ],
        resources={
            "mlflow": mlflow or MlflowTracking(),
            "model_io_manager": model_io_manager or TorchModelIOManager(),
            "io_manager": io_manager or PickleIOManager(),
            "distributed": DistributedTraining(),
        },
        executor=executor(),
        loggers=RUN_LOGGERS,
    )


defs = build_definitions()
