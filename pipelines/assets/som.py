"""Kohonen map of the prepared features (the classic exploratory view of a dataset)."""

from dagster import AssetExecutionContext, Output, asset

from unsup_core.competitive import KohonenMap
from unsup_core.data import PreparedData

from ..configs import DataSomConfig
from ..resources import MlflowTracking
from ..som_logging import fit_and_log_som
from .data import CODE_VERSION


@asset(group_name="competitive", code_version=CODE_VERSION, kinds={"numpy"})
def data_som(context: AssetExecutionContext, config: DataSomConfig,
             prepared_dataset: PreparedData, mlflow: MlflowTracking) -> Output[KohonenMap]:
    """A self-organising map of the training split: QE, TE, label purity; U-matrix, density,
    hit map, component planes (one per feature) and the label overlay."""
    data = prepared_dataset
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        som = config.som.to_library()
        metrics = fit_and_log_som(run, som, data.train.X, data.test.X, data.feature_names,
                                  data.train.y, data.test.y, data.class_names, config.density_k)
    return Output(som, metadata={**run.dagster_metadata(),
                                 **{k.replace("/", "_"): v for k, v in metrics.items()}})
