"""A GAN trained on the prepared data, judged by a classifier trained on the same real data."""

import time

from dagster import AssetExecutionContext, MetadataValue, Output
from mlflow.entities import Metric

from unsup_core.data import PreparedData
from unsup_core.generative import QUALITY_COLUMNS, GanConfig, train_gan
from unsup_core.plotting.figures import gan_figures

from ..configs import dagster_config
from ..reporting import markdown_table
from ..resources import MlflowTracking
from ..versioning import recipe_asset

GanModelConfig = dagster_config(GanConfig)


@recipe_asset(
    train_gan,
    gan_figures,
    group_name="generative",
    kinds={"pytorch"},
    io_manager_key="model_io_manager",
)
def gan_model(
    context: AssetExecutionContext,
    config: GanModelConfig,
    prepared_dataset: PreparedData,
    mlflow: MlflowTracking,
) -> Output[dict]:
    """Generator and discriminator (Goodfellow et al. 2014) with per-epoch losses, sample grids
    at checkpoints, and quality measures beside real held-out data and simple baselines."""
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        result = train_gan(prepared_dataset, config.to_library(), run.stage_callbacks)
        now = int(time.time() * 1000)
        run.log_metric_records(
            [
                Metric(f"checkpoint/{key}", value, now, epoch)
                for epoch, quality in result.checkpoint_quality.items()
                for key, value in quality.metrics().items()
                if "/" not in key
            ]
        )
        run.log_result(
            result, gan_figures(result, prepared_dataset), columns={"quality": QUALITY_COLUMNS}
        )
    gan = result.tables["quality"][0] if result.qualities else {}
    return Output(
        result.models,
        metadata={
            **run.dagster_metadata(),
            "quality": MetadataValue.md(markdown_table(result.tables["quality"], QUALITY_COLUMNS)),
            **{
                key: gan.get(key, float("nan"))
                for key in ("frechet_distance", "classifier_score", "n_classes_present")
            },
        },
    )
