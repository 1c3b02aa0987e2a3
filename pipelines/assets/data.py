"""Data assets: the raw dataset as loaded, and the prepared (split, imputed, scaled) dataset."""

from dagster import AssetExecutionContext, MetadataValue, Output, asset

import unsup_core
from unsup_core.data import (Dataset, PreparedData, load_dataset, prepare, summarize_dataset,
                             summarize_prepared)

from ..configs import PreparedDatasetConfig, RawDatasetConfig
from ..resources import MlflowTracking

CODE_VERSION = unsup_core.__version__


@asset(group_name="data", code_version=CODE_VERSION, kinds={"pandas"})
def raw_dataset(context: AssetExecutionContext, config: RawDatasetConfig,
                mlflow: MlflowTracking) -> Output[Dataset]:
    """The dataset as loaded from its source: digits (bundled) or a user CSV/Parquet file."""
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        dataset = load_dataset(config.to_library())
        summary = summarize_dataset(dataset)
        run.log_metrics({k: summary[k] for k in ("n_samples", "n_features", "n_classes",
                                                 "missing_values")})
        run.log_dict(summary, "data_summary.json")
    return Output(dataset, metadata={
        **run.dagster_metadata(), **run.metrics,
        "source": dataset.source,
        "class_counts": MetadataValue.json(summary["class_counts"]),
    })


@asset(group_name="data", code_version=CODE_VERSION, kinds={"numpy"})
def prepared_dataset(context: AssetExecutionContext, config: PreparedDatasetConfig,
                     raw_dataset: Dataset, mlflow: MlflowTracking) -> Output[PreparedData]:
    """Stratified train/validation/test split; imputation and scaling fitted on train only."""
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        data = prepare(raw_dataset, config.to_library())
        summary = summarize_prepared(data)
        run.log_metrics({f"n_{name}": n for name, n in summary["split_sizes"].items()})
        run.log_dict(summary, "data_summary.json")
    return Output(data, metadata={
        **run.dagster_metadata(), **run.metrics,
        "class_counts": MetadataValue.json(summary["class_counts"]),
    })
