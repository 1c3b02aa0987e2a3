"""The plain autoencoder: the first model trained through the shared trainer."""

from dagster import AssetExecutionContext, Output, asset

from unsup_core.autoencoders import Autoencoder, apply_array, count_parameters
from unsup_core.data import PreparedData
from unsup_core.plotting import plot_loss_curves, plot_reconstructions
from unsup_core.training import Trainer, evaluate

from ..configs import PlainAutoencoderConfig
from ..resources import MlflowTracking
from .data import CODE_VERSION


@asset(group_name="autoencoders", code_version=CODE_VERSION, kinds={"pytorch"},
       io_manager_key="model_io_manager")
def plain_autoencoder(context: AssetExecutionContext, config: PlainAutoencoderConfig,
                      prepared_dataset: PreparedData, mlflow: MlflowTracking) -> Output[Autoencoder]:
    """An MLP autoencoder minimising the mean squared reconstruction error on the train split."""
    data = prepared_dataset
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        model = Autoencoder(config.model.to_library(in_features=data.n_features))
        trainer = Trainer(config.trainer.to_library(), callbacks=[run.epoch_logger()])
        val = data.val.tensors() if len(data.val) else None
        history = trainer.fit(model, data.train.tensors(), val)
        test = evaluate(model, data.test.tensors())
        run.log_metrics({"test/recon": test["recon"], "n_params": count_parameters(model),
                         "epochs_run": len(history.epochs),
                         "best_epoch": history.best_epoch or len(history.epochs),
                         "train_seconds": history.seconds})
        run.log_figure(plot_loss_curves(history, "plain autoencoder"), "loss_curves")
        if data.image_shape is not None:
            sample = data.test.X[:10]
            run.log_figure(plot_reconstructions(sample, apply_array(model, sample), data.image_shape),
                           "reconstructions")
        run.log_model(model, "model/checkpoint.pt")
    return Output(model, metadata={**run.dagster_metadata(),
                                   "test_recon_mse": test["recon"],
                                   "epochs_run": len(history.epochs),
                                   "n_params": count_parameters(model)})
