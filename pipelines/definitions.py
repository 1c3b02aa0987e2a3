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
from .presets import data_source, load_preset, preset_names
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
JOB_NAME = "unsup_pipeline"  # the `default` preset; every other preset has a job of its own


def job_name(preset: str) -> str:
    """``unsup_pipeline`` for the default preset, ``unsup_pipeline_<preset>`` for the others, so
    each preset is one click in the UI (its launchpad prefilled, its runs tagged)."""
    return JOB_NAME if preset == "default" else f"{JOB_NAME}_{preset}"


def preset_job(preset: str):
    """The whole asset graph with ``preset``'s run config; runs tagged with the preset and data."""
    config = load_preset(preset)
    return define_asset_job(
        job_name(preset),
        selection=AssetSelection.all(),
        executor_def=executor(),
        config=config,
        hooks={mlflow_failure_hook},
        tags={"unsup/preset": preset, "unsup/data": data_source(config)},
        description=f"The whole asset graph, launchpad prefilled with the '{preset}' preset "
        f"(pipelines/presets/{preset}.yaml).",
    )


# No blanket retry policy: Dagster would retry an interrupted step. Transient errors get one more
# try, deterministic ones fail at once and interrupts cancel the run (see pipelines.failures).


def build_definitions(
    mlflow: MlflowTracking | None = None,
    model_io_manager: TorchModelIOManager | None = None,
    io_manager: PickleIOManager | None = None,
) -> Definitions:
    """Definitions with the given resources (tests pass a temporary MLflow store)."""
    jobs = [preset_job(name) for name in ["default", *sorted(set(preset_names()) - {"default"})]]
    job = jobs[0]
    return Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=jobs,
        schedules=[build_retrain_schedule(job)],
        sensors=[
            build_incoming_data_sensor(job),
            *build_run_settling_sensors(jobs),
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
