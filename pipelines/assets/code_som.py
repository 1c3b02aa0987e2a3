"""The end of the chain: a Kohonen map of the codes that the final encoder gives the data."""

from dagster import AssetExecutionContext, Output, asset
from torch import nn

from unsup_core.codes import encoder_codes
from unsup_core.competitive import KohonenMap
from unsup_core.data import PreparedData

from ..configs import CodeSomConfig
from ..resources import MlflowTracking
from ..som_logging import fit_and_log_som
from .data import CODE_VERSION


@asset(group_name="competitive", code_version=CODE_VERSION, kinds={"numpy"})
def code_som(context: AssetExecutionContext, config: CodeSomConfig, prepared_dataset: PreparedData,
             student_model: nn.Module, mlflow: MlflowTracking) -> Output[KohonenMap]:
    """A self-organising map of the student's hidden codes of the training split: QE, TE and
    node purity; U-matrix, density, hit map, component planes and the label overlay."""
    data = prepared_dataset
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        train_codes = encoder_codes(student_model, data.train.X)
        test_codes = encoder_codes(student_model, data.test.X)
        names = [f"code_{j}" for j in range(train_codes.shape[1])]
        run.log_params({"code_dim": train_codes.shape[1], "encoder": type(student_model).__name__})
        som = config.som.to_library()
        metrics = fit_and_log_som(run, som, train_codes, test_codes, names,
                                  data.train.y, data.test.y, data.class_names, config.density_k)
    return Output(som, metadata={**run.dagster_metadata(),
                              **{k.replace("/", "_"): v for k, v in metrics.items()}})
