"""Pretraining and transfer: the self-supervised encoder, the stacked autoencoder on its codes,
then every encoder moved to a target task with few labels."""

from dagster import AssetExecutionContext, MetadataValue, Output
from torch import nn

from unsup_core.data import PreparedData
from unsup_core.plotting import plot_loss_curves
from unsup_core.plotting.figures import stacked_figures, transfer_figures
from unsup_core.selfsupervised import PretextTrainingConfig, train_pretext
from unsup_core.selfsupervised.pretext import pretext_for
from unsup_core.stacked import StackedTrainingConfig, train_stacked_autoencoder
from unsup_core.transfer import TransferConfig, transfer_experiment
from unsup_core.transfer.recipe import CURVE_COLUMNS

from ..configs import dagster_config
from ..reporting import metadata_values
from ..resources import MlflowTracking
from ..versioning import recipe_asset

SslEncoderConfig = dagster_config(PretextTrainingConfig)
StackedAutoencoderConfig = dagster_config(StackedTrainingConfig)
TransferModelsConfig = dagster_config(TransferConfig)


@recipe_asset(
    train_pretext, group_name="transfer", kinds={"pytorch"}, io_manager_key="model_io_manager"
)
def ssl_encoder(
    context: AssetExecutionContext,
    config: SslEncoderConfig,
    prepared_dataset: PreparedData,
    mlflow: MlflowTracking,
) -> Output[nn.Module]:
    """An encoder pretrained without labels on a pretext: contrastive views, relative patch
    position, or masked features (tables without an image shape)."""
    library = config.to_library()
    used = pretext_for(library, prepared_dataset.image_shape)  # what the params say is trained
    params = {**config.model_dump(), "pretext": used, "pretext_requested": config.pretext}
    with mlflow.asset_run(context, params=params) as run:
        result = train_pretext(prepared_dataset, library, run.stage_callbacks)
        pretext = result.tags["pretext"]
        run.set_tags({"pretext": pretext, "pretext_requested": config.pretext})
        run.log_result(
            result, {"loss_curves": plot_loss_curves(result.histories[""], f"{pretext} pretext")}
        )
    return Output(
        result.model,
        metadata={
            **run.dagster_metadata(),
            "pretext": pretext,
            "pretext_requested": config.pretext,
            **metadata_values(result.metrics),
        },
    )


@recipe_asset(
    train_stacked_autoencoder,
    stacked_figures,
    group_name="transfer",
    kinds={"pytorch"},
    io_manager_key="model_io_manager",
)
def stacked_autoencoder(
    context: AssetExecutionContext,
    config: StackedAutoencoderConfig,
    prepared_dataset: PreparedData,
    ssl_encoder: nn.Module,
    mlflow: MlflowTracking,
) -> Output[nn.Module]:
    """Greedy layer-wise pretraining (each layer an autoencoder on the codes of the one below,
    decoders then dropped), then end-to-end fine-tuning as a deep autoencoder; the encoder.
    ``start_from="encoder"`` stacks on the self-supervised encoder's codes (x^0 = its code;
    reconstruction errors are then in code space) and returns the composition."""
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        result = train_stacked_autoencoder(
            prepared_dataset, config.to_library(), ssl_encoder, run.stage_callbacks
        )
        run.log_result(result, stacked_figures(result))
    return Output(
        result.encoder,
        metadata={
            **run.dagster_metadata(),
            "start_from": result.tags["start_from"],
            **metadata_values(result.metrics),
        },
    )


@recipe_asset(
    transfer_experiment,
    transfer_figures,
    group_name="transfer",
    kinds={"pytorch"},
    io_manager_key="model_io_manager",
)
def transfer_models(
    context: AssetExecutionContext,
    config: TransferModelsConfig,
    prepared_dataset: PreparedData,
    stacked_autoencoder: nn.Module,
    ssl_encoder: nn.Module,
    mlflow: MlflowTracking,
) -> Output[dict]:
    """Each pretrained encoder (stacked AE, self-supervised; for a class split also one trained
    with the labels of the other classes) in each transfer mode (frozen encoder + head,
    fine-tuning, from scratch, pseudo-labelling) at each label budget: the accuracy curves as a
    figure and a table; the classifiers at the model budget, handed downstream."""
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        result = transfer_experiment(
            prepared_dataset,
            {"stacked": stacked_autoencoder, "ssl": ssl_encoder},
            config.to_library(),
            run.progress,
        )
        tables = run.log_result(
            result, transfer_figures(result), columns={"transfer_curve": CURVE_COLUMNS}
        )
    budget = result.labels_per_class  # the handed-on classifiers' labels per class
    accuracies = {
        f"accuracy_{key}_k{budget}": result.metrics[f"model/{key}/accuracy"]
        for key in result.models
    }
    return Output(
        result.models,
        metadata={
            **run.dagster_metadata(),
            **accuracies,
            "handed_on_labels_per_class": budget,
            "curve_label_budgets": result.tags["label_budgets"],
            "curve": MetadataValue.md(tables["transfer_curve"]),
        },
    )
