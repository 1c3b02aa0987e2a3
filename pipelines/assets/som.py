"""Kohonen maps: of the prepared features (the classic exploratory view of a dataset) and of
the codes the final encoder (the student's hidden layer) gives the data."""

from dagster import AssetExecutionContext, Output
from torch import nn

from unsup_core.arrays import encoder_codes
from unsup_core.competitive import KohonenMap, MapConfig, MapResult, fit_map, weights_npz
from unsup_core.data import PreparedData
from unsup_core.plotting.figures import map_figures

from ..configs import dagster_config
from ..reporting import metadata_values
from ..resources import MlflowTracking
from ..tracking import AssetRun
from ..versioning import recipe_asset

SelfOrganisingMapConfig = dagster_config(MapConfig)


def log_map(run: AssetRun, result: MapResult) -> None:
    """Metrics, the per-epoch error and radius, the map figures and the weights."""
    for record in result.som.history_:
        run.log_metrics(
            {
                "epoch/quantization_error": record["quantization_error"],
                "epoch/sigma": record["sigma"],
            },
            step=record["epoch"],
        )
    run.log_result(result, map_figures(result))
    run.log_bytes(weights_npz(result.som, result.feature_names), "model/som_weights.npz")


@recipe_asset(fit_map, map_figures, group_name="competitive", kinds={"numpy"})
def data_som(
    context: AssetExecutionContext,
    config: SelfOrganisingMapConfig,
    prepared_dataset: PreparedData,
    mlflow: MlflowTracking,
) -> Output[KohonenMap]:
    """A self-organising map of the training split: QE, TE, label purity; U-matrix, density,
    hit map, component planes (one per feature) and the label overlay."""
    data = prepared_dataset
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        result = fit_map(
            data.train.X,
            data.test.X,
            data.feature_names,
            config.to_library(),
            data.train.y,
            data.test.y,
            data.class_names,
        )
        log_map(run, result)
    return Output(
        result.som, metadata={**run.dagster_metadata(), **metadata_values(result.metrics)}
    )


@recipe_asset(fit_map, map_figures, group_name="competitive", kinds={"numpy"})
def code_som(
    context: AssetExecutionContext,
    config: SelfOrganisingMapConfig,
    prepared_dataset: PreparedData,
    student_model: nn.Module,
    mlflow: MlflowTracking,
) -> Output[KohonenMap]:
    """A self-organising map of the student's hidden codes of the training split: QE, TE and
    node purity; U-matrix, density, hit map, component planes and the label overlay."""
    data = prepared_dataset
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        train, test = (
            encoder_codes(student_model, data.train.X),
            encoder_codes(student_model, data.test.X),
        )
        run.log_params({"code_dim": train.shape[1], "encoder": type(student_model).__name__})
        result = fit_map(
            train,
            test,
            [f"code_{j}" for j in range(train.shape[1])],
            config.to_library(),
            data.train.y,
            data.test.y,
            data.class_names,
        )
        log_map(run, result)
    return Output(
        result.som, metadata={**run.dagster_metadata(), **metadata_values(result.metrics)}
    )
