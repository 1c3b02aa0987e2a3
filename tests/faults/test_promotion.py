"""The champion alias moves only once the whole run has succeeded with every gate passed."""

import pytest
from dagster import (
    AssetCheckResult,
    DagsterInstance,
    Definitions,
    asset,
    asset_check,
    define_asset_job,
)

from pipelines.lifecycle import settle_run
from pipelines.registry import CHAMPION, PENDING_TAG, register_role
from pipelines.resources import MlflowTracking
from unsup_core.distillation import MLPClassifier, MLPClassifierConfig

NAME = "unsup-faults-student"


def tiny_model() -> MLPClassifier:
    return MLPClassifier(MLPClassifierConfig(in_features=2, hidden=(2,), n_classes=2))


def build(mlflow: MlflowTracking, fail_after: bool, gate_passes: bool = True) -> Definitions:
    @asset
    def registered(context, mlflow: MlflowTracking) -> str:
        with mlflow.asset_run(context) as run:
            decision = register_role(
                mlflow.client(),
                run,
                "student",
                NAME,
                tiny_model(),
                "test_accuracy",
                lambda model: 0.9,
                promote=False,
            )
        return decision["version"]

    @asset_check(asset=registered)
    def accuracy_gate() -> AssetCheckResult:
        return AssetCheckResult(passed=gate_passes)

    @asset(deps=[registered])
    def report(context, mlflow: MlflowTracking) -> None:
        with mlflow.asset_run(context):
            if fail_after:
                raise RuntimeError("the report broke")

    return Definitions(
        assets=[registered, report],
        asset_checks=[accuracy_gate],
        jobs=[define_asset_job("job")],
        resources={"mlflow": mlflow},
    )


def run(mlflow_store, **kwargs):
    instance = DagsterInstance.ephemeral()
    result = (
        build(mlflow_store, **kwargs)
        .resolve_job_def("job")
        .execute_in_process(instance=instance, raise_on_error=False)
    )
    return result, settle_run(instance, mlflow_store, result.run_id)


def champion(client):
    try:
        return client.get_model_version_by_alias(NAME, CHAMPION)
    except Exception:
        return None


@pytest.mark.parametrize(
    "fail_after, gate_passes", [(True, True), (False, False)], ids=["step-failed", "gate-failed"]
)
def test_a_failed_run_or_gate_moves_no_alias(mlflow_store, fail_after, gate_passes):
    result, lines = run(mlflow_store, fail_after=fail_after, gate_passes=gate_passes)
    client = mlflow_store.client()
    assert champion(client) is None
    [version] = client.search_model_versions(f"name = '{NAME}'")
    assert version.tags["role"] == "challenger" and PENDING_TAG not in version.tags
    assert result.run_id in version.tags["run_failed"]
    assert ("FAILURE" if fail_after else "gates failed") in version.tags["run_failed"]
    assert lines == [f"{NAME} v1: not promoted ({version.tags['run_failed']})"]


def test_a_successful_run_promotes_after_it_ended(mlflow_store):
    result, lines = run(mlflow_store, fail_after=True)  # v1 from a failed run: challenger
    result, lines = run(mlflow_store, fail_after=False)
    assert result.success and lines == [
        f"{NAME} v2: champion (Dagster run {result.run_id} succeeded, every gate passed)"
    ]
    client = mlflow_store.client()
    assert str(champion(client).version) == "2" and champion(client).tags["role"] == CHAMPION
    assert client.get_model_version(NAME, "1").tags["role"] == "challenger"
