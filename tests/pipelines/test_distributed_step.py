"""An asset's model trained by two processes under torchrun through Dagster Pipes gives the model
one process trains (same seed, same global batch), and its metrics and epochs come back to
Dagster and MLflow."""

import pytest
from dagster import AssetKey, DagsterInstance

from pipelines.definitions import build_definitions
from pipelines.presets import load_preset

pytestmark = pytest.mark.slow
STEPS = ("raw_dataset", "prepared_dataset", "plain_autoencoder")


def train(mlflow_store, tmp_path, processes: int):
    from pipelines.io_managers import TorchModelIOManager

    defs = build_definitions(
        mlflow=mlflow_store, model_io_manager=TorchModelIOManager(base_uri=str(tmp_path))
    )
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={AssetKey(step) for step in STEPS}
    )
    ops = load_preset("tiny")["ops"]
    run_config = {
        "ops": {op: ops[op] for op in ops if op.startswith(STEPS)},  # with gates
        "resources": {"distributed": {"config": {"processes": processes}}},
    }
    result = job.execute_in_process(run_config=run_config, instance=DagsterInstance.ephemeral())
    assert result.success
    return result


def test_two_processes_train_the_model_one_process_trains(mlflow_store, tmp_path):
    one = train(mlflow_store, tmp_path / "one", 1)
    two = train(mlflow_store, tmp_path / "two", 2)
    metadata = {
        r.run_id: r.asset_materializations_for_node("plain_autoencoder")[0].metadata
        for r in (one, two)
    }
    recon = [metadata[r.run_id]["test_recon_mse"].value for r in (one, two)]
    assert recon[1] == pytest.approx(recon[0], rel=1e-3)  # metadata: 4 significant digits
    client = mlflow_store.client()
    experiment = client.get_experiment_by_name(mlflow_store.experiment_name)
    runs = {
        r.data.tags["dagster.run_id"]: r
        for r in client.search_runs(
            [experiment.experiment_id],
            filter_string="tags.`dagster.asset_key` = 'plain_autoencoder'",
        )
    }
    parallel = runs[two.run_id]
    assert parallel.data.tags["world_size"] == "2"
    assert "world_size" not in runs[one.run_id].data.tags
    # the epochs trained under torchrun were logged when the result came back
    steps = [m.step for m in client.get_metric_history(parallel.info.run_id, "train/loss")]
    assert steps == [1, 2, 3]
    assert parallel.data.metrics["test/recon"] == pytest.approx(recon[1], rel=1e-3)
