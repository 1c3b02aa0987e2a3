"""Data assets: the raw dataset as loaded, and the prepared (split, imputed, scaled) dataset."""

from dagster import AssetExecutionContext, MetadataValue, Output

from unsup_core.data import (
    Dataset,
    PrepareConfig,
    PreparedData,
    SourceConfig,
    load_dataset,
    prepare,
    summarize_dataset,
    summarize_prepared,
)

from ..configs import dagster_config
from ..resources import MlflowTracking
from ..versioning import recipe_asset

RawDatasetConfig = dagster_config(SourceConfig)
PreparedDatasetConfig = dagster_config(PrepareConfig)


@recipe_asset(
    load_dataset, summarize_dataset, after_validation=False, group_name="data", kinds={"pandas"}
)
def raw_dataset(
    context: AssetExecutionContext, config: RawDatasetConfig, mlflow: MlflowTracking
) -> Output[Dataset]:
    """The dataset as loaded from its source: digits (bundled) or a user CSV/Parquet file."""
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        dataset = load_dataset(config.to_library())
        summary = summarize_dataset(dataset)
        run.log_metrics(
            {k: summary[k] for k in ("n_samples", "n_features", "n_classes", "missing_values")}
        )
        run.log_dict(summary, "data_summary.json")
    return Output(
        dataset,
        metadata={
            **run.dagster_metadata(),
            **run.metrics,
            "source": dataset.source,
            "class_counts": MetadataValue.json(summary["class_counts"]),
        },
    )


@recipe_asset(
    prepare, summarize_prepared, after_validation=False, group_name="data", kinds={"numpy"}
)
def prepared_dataset(
    context: AssetExecutionContext,
    config: PreparedDatasetConfig,
    raw_dataset: Dataset,
    mlflow: MlflowTracking,
) -> Output[PreparedData]:
    """Stratified train/validation/test split; imputation and scaling fitted on train only."""
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        data = prepare(raw_dataset, config.to_library())
        summary = summarize_prepared(data)
        run.log_metrics({f"n_{name}": n for name, n in summary["split_sizes"].items()})
        run.log_dict(summary, "data_summary.json")
    return Output(
        data,
        metadata={
            **run.dagster_metadata(),
            **run.metrics,
            "class_counts": MetadataValue.json(summary["class_counts"]),
        },
    )
