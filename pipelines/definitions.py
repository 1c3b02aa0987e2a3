"""The Dagster code location: assets, checks, resources and the job (see workspace.yaml)."""

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from .assets.autoencoder import plain_autoencoder
from .assets.autoencoder_zoo import autoencoder_zoo
from .assets.data import prepared_dataset, raw_dataset
from .assets.distillation import privileged_student, student_model, teacher_model
from .assets.generative import gan_model
from .assets.som import data_som
from .assets.transfer import ssl_encoder, stacked_autoencoder, transfer_models
from .checks import prepared_class_balance, prepared_no_nan, prepared_split_sizes
from .hooks import mlflow_failure_hook
from .io_managers import TorchModelIOManager
from .presets import load_preset
from .resources import MlflowTracking

ASSETS = [raw_dataset, prepared_dataset, plain_autoencoder, autoencoder_zoo, data_som,
          ssl_encoder, stacked_autoencoder, transfer_models, teacher_model, student_model,
          privileged_student, gan_model]
CHECKS = [prepared_no_nan, prepared_split_sizes, prepared_class_balance]
JOB_NAME = "unsup_pipeline"


def build_definitions(mlflow: MlflowTracking | None = None,
                      model_io_manager: TorchModelIOManager | None = None) -> Definitions:
    """Definitions with the given resources (tests pass a temporary MLflow store)."""
    # In-process: a multiprocess step costs 5-12 s to start, more than a tiny model trains.
    job = define_asset_job(JOB_NAME, selection=AssetSelection.all(), executor_def=in_process_executor,
                           config=load_preset("default"), hooks={mlflow_failure_hook},
                           description="The whole asset graph on the configured data "
                                       "(launchpad prefilled with the 'default' preset).")
    return Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=[job],
        resources={"mlflow": mlflow or MlflowTracking(),
                   "model_io_manager": model_io_manager or TorchModelIOManager()},
        executor=in_process_executor,
    )


defs = build_definitions()
