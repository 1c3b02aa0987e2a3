"""Every autoencoder kind trained on the prepared data, one nested MLflow run per kind."""

from dagster import AssetExecutionContext, MetadataValue, Output

from unsup_core.autoencoders.zoo import COMPARISON_COLUMNS, ZooConfig, train_zoo
from unsup_core.data import PreparedData
from unsup_core.plotting.figures import zoo_member_figures

from ..configs import dagster_config
from ..resources import MlflowTracking
from ..versioning import recipe_asset

AutoencoderZooConfig = dagster_config(ZooConfig)


@recipe_asset(
    train_zoo,
    zoo_member_figures,
    group_name="autoencoders",
    kinds={"pytorch"},
    io_manager_key="model_io_manager",
)
def autoencoder_zoo(
    context: AssetExecutionContext,
    config: AutoencoderZooConfig,
    prepared_dataset: PreparedData,
    mlflow: MlflowTracking,
) -> Output[dict]:
    """Trains each kind (plain, linear, sparse, denoising, contractive, relational, variational,
    label-regularised) with the same architecture, plus the overcomplete denoising and
    label-regularised autoencoders (the best codes of benchmarks/autoencoders.py), and compares
    them on the same yardsticks (one linear probe for all)."""
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        result = train_zoo(prepared_dataset, config.to_library(), run.progress_callbacks)
        for kind, member in result.members.items():
            with run.nested(kind, params={"kind": kind, **config.trainer.model_dump()}) as child:
                child.log_history(member.history)
                child.log_metrics(member.metrics)
                child.log_figures(zoo_member_figures(member, prepared_dataset))
                child.log_model(member.model, "model/checkpoint.pt")
        table = run.log_table(result.tables["comparison"], "comparison", COMPARISON_COLUMNS)
        run.set_tags(result.tags)
    best = result.members[result.best_kind].metrics
    return Output(
        result.models,
        metadata={
            **run.dagster_metadata(),
            "comparison": MetadataValue.md(table),
            "kinds": len(result.members),
            "best_kind": result.best_kind,
            "probe_accuracy": best.get("probe/accuracy", float("nan")),
            **{k: v for k, v in result.tags.items() if k == "kinds_not_applicable"},
        },
    )
