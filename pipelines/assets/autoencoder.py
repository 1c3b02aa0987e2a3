"""The plain autoencoder: the first model trained through the shared trainer."""

from dagster import AssetExecutionContext, Output

from unsup_core.autoencoders import Autoencoder
from unsup_core.autoencoders.recipe import AutoencoderTrainingConfig, train_autoencoder
from unsup_core.data import PreparedData
from unsup_core.plotting.figures import autoencoder_figures

from ..configs import dagster_config
from ..distributed import DistributedTraining
from ..resources import MlflowTracking
from ..versioning import recipe_asset

PlainAutoencoderConfig = dagster_config(AutoencoderTrainingConfig)


@recipe_asset(
    train_autoencoder,
    autoencoder_figures,
    group_name="autoencoders",
    kinds={"pytorch"},
    io_manager_key="model_io_manager",
)
def plain_autoencoder(
    context: AssetExecutionContext,
    config: PlainAutoencoderConfig,
    prepared_dataset: PreparedData,
    mlflow: MlflowTracking,
    distributed: DistributedTraining,
) -> Output[Autoencoder]:
    """An MLP autoencoder minimising the mean squared reconstruction error on the train split."""
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        train = distributed.recipe(context, train_autoencoder)  # N processes when configured
        result = train(prepared_dataset, config.to_library(), callbacks=run.stage_callbacks)
        run.log_result(result, autoencoder_figures(result, prepared_dataset))
    metrics = result.metrics
    return Output(
        result.models["checkpoint"],
        metadata={
            **run.dagster_metadata(),
            "test_recon_mse": metrics["test/recon"],
            "epochs_run": int(metrics["epochs_run"]),
            "n_params": int(metrics["n_params"]),
        },
    )
