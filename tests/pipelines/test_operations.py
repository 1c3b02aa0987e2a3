"""Operating the pipeline: the registry's quality gate, the experiment report across runs, and
two runs at once (separate MLflow runs, artifacts and stored models)."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from dagster import AssetKey, DagsterInstance
from torch import nn

from pipelines.definitions import build_definitions
from pipelines.experiment_history import Headline, changes
from pipelines.io_managers import TorchModelIOManager
from pipelines.presets import load_preset
from pipelines.registry import model_name, register_candidate
from unsup_core.distillation import MLPClassifier, MLPClassifierConfig

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def tiny_model(seed: int) -> nn.Module:
    return MLPClassifier(MLPClassifierConfig(in_features=4, hidden=(3,), n_classes=2, seed=seed))


class FakeRun:
    """Stands in for the asset's AssetRun: a real MLflow run of the temporary store."""

    def __init__(self, store):
        from pipelines.tracking import AssetRun

        client = store.client()
        experiment_id = store.experiment_id(client)
        run_id = client.create_run(experiment_id).info.run_id
        self.run = AssetRun(
            client,
            run_id,
            experiment_id,
            store.experiment_name,
            store.resolved_ui_url(),
            {"dagster.run_id": "test"},
        )


def test_registry_promotes_only_a_challenger_that_beats_the_champion(mlflow_store):
    client = mlflow_store.client()
    scores = {}  # each model's held-out score, by the seed in its config (survives the checkpoint)

    def score(model):
        return scores[model.config.seed]

    def register(seed, value, margin=0.0):
        model = tiny_model(seed)
        scores[seed] = value
        return register_candidate(
            client, FakeRun(mlflow_store).run, "m", model, "acc", value, score, margin
        )

    first = register(0, 0.80)
    assert (
        first.promoted and first.version == "1" and first.reason == "first version: no champion yet"
    )
    equal = register(1, 0.80)
    assert not equal.promoted and equal.champion_version == "1"
    assert "0.8000 <= champion v1's 0.8000 (re-scored on the same held-out data)" in equal.reason
    better = register(2, 0.85)
    assert better.promoted and better.previous_champion == "1" and better.previous_value == 0.80
    assert str(client.get_model_version_by_alias("m", "champion").version) == "3"
    assert client.get_model_version("m", "1").tags["role"] == "retired champion"
    assert client.get_model_version("m", "2").tags["role"] == "challenger"
    not_by_enough = register(3, 0.86, margin=0.05)
    assert not not_by_enough.promoted and "+ 0.05" in not_by_enough.reason
    # The champion is re-scored on today's data: if its score there drops, a challenger wins.
    scores[2] = 0.5
    assert register(4, 0.6).promoted
    checkpoint = client.download_artifacts(
        client.get_model_version("m", "5").run_id, "m/checkpoint.pt"
    )
    assert torch.load(checkpoint, weights_only=True)["config"]["seed"] == 4
    with pytest.raises(ValueError, match="min_improvement=-1 must be >= 0"):
        register(5, 0.9, margin=-1)


def test_registry_falls_back_to_the_recorded_score_when_the_champion_cannot_run(mlflow_store):
    client = mlflow_store.client()
    register_candidate(
        client, FakeRun(mlflow_store).run, "m", tiny_model(0), "acc", 0.7, lambda m: 0.7
    )

    def incompatible(model):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    decision = register_candidate(
        client, FakeRun(mlflow_store).run, "m", tiny_model(1), "acc", 0.69, incompatible
    )
    assert (
        not decision.promoted
        and "recorded score; re-scoring failed: RuntimeError" in decision.reason
    )


def test_a_registered_version_loads_as_pyfunc_with_its_signature_from_the_training_run(
    mlflow_store,
):
    import mlflow.pyfunc
    import numpy as np

    client = mlflow_store.client()
    training = FakeRun(mlflow_store).run
    model = tiny_model(0)
    example = np.random.default_rng(0).random((5, 4), dtype=np.float32)
    register_candidate(
        client, training, "served", model, "acc", 0.9, lambda m: 0.9,
        kind="classifier", example=example,
    )  # fmt: skip
    version = client.get_model_version("served", "1")
    assert version.run_id == training.run_id
    assert version.source == f"runs:/{training.run_id}/served/mlflow_model"
    mlflow.set_tracking_uri(mlflow_store.resolved_tracking_uri())
    try:
        loaded = mlflow.pyfunc.load_model("models:/served@champion")
    finally:
        mlflow.set_tracking_uri("")
    signature = loaded.metadata.signature
    assert signature is not None
    assert tuple(signature.inputs.to_dict()[0]["tensor-spec"]["shape"]) == (-1, 4)
    assert tuple(signature.outputs.to_dict()[0]["tensor-spec"]["shape"]) == (-1, 2)
    probabilities = loaded.predict(example)
    expected = torch.softmax(model(torch.as_tensor(example)), dim=1).detach().numpy()
    assert probabilities.shape == (5, 2) and np.allclose(probabilities, expected, atol=1e-6)


def test_model_names_are_per_data_source():
    assert model_name("unsup", "digits", "student") == "unsup-digits-student"
    assert model_name("unsup", "/data/in/house votes.csv", "encoder") == "unsup-house-votes-encoder"


def test_changes_know_which_direction_is_better():
    headlines = (Headline("acc", "a", "acc"), Headline("err", "a", "err", higher_is_better=False))
    rows = [{"acc": 0.8, "err": 0.2}, {"acc": 0.9, "err": 0.3}]
    assert changes(rows, headlines) == [
        {
            "metric": "acc",
            "this_run": 0.9,
            "previous_run": 0.8,
            "change": pytest.approx(0.1),
            "better": True,
        },
        {
            "metric": "err",
            "this_run": 0.3,
            "previous_run": 0.2,
            "change": pytest.approx(0.1),
            "better": False,
        },
    ]
    assert (
        Headline("best", "a", r"model/.+/accuracy").value(
            {"model/x/accuracy": 0.5, "model/y/accuracy": 0.7, "other": 1.0}
        )
        == 0.7
    )


SMALL_GRAPH = [AssetKey(k) for k in ("raw_dataset", "prepared_dataset", "plain_autoencoder")]


def small_job(mlflow_store, tmp_path, extra=()):
    defs = build_definitions(
        mlflow=mlflow_store, model_io_manager=TorchModelIOManager(base_uri=str(tmp_path))
    )
    return defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={*SMALL_GRAPH, *extra}
    )


def small_config(code_dim: int) -> dict:
    config = copy.deepcopy(load_preset("tiny"))
    config["ops"] = {
        k: v
        for k, v in config["ops"].items()  # the assets and their gates
        if k.startswith(("raw_dataset", "prepared_dataset", "plain_autoencoder"))
    }
    config["ops"]["plain_autoencoder"]["config"]["model"]["code_dim"] = code_dim
    return config


RUN_SMALL_GRAPH = """
import json, sys
from dagster import AssetKey, DagsterInstance
from pipelines.definitions import build_definitions
from pipelines.io_managers import TorchModelIOManager
from pipelines.resources import MlflowTracking

db, artifacts, models, config = sys.argv[1:5]
store = MlflowTracking(tracking_uri=db, artifact_root=artifacts, experiment_name="test")
defs = build_definitions(mlflow=store, model_io_manager=TorchModelIOManager(base_uri=models))
job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={
    AssetKey(k) for k in ("raw_dataset", "prepared_dataset", "plain_autoencoder")})
instance = DagsterInstance.ephemeral()
result = job.execute_in_process(run_config=json.loads(config), instance=instance)
checks = result.get_asset_check_evaluations()
gate = next(c for c in checks if c.check_name == "reconstruction_gate")
print(json.dumps({"run_id": result.run_id, "success": result.success,
                  "gate_mse": gate.metadata["test_recon_mse"].value}))
"""


def test_two_runs_at_once_keep_their_own_runs_models_and_artifacts(mlflow_store, tmp_path):
    """Two pipeline runs as two processes at once (as Dagster launches them), one MLflow store
    and one model folder."""
    mlflow_store.experiment_id(mlflow_store.client())  # the store exists before both start
    processes = {
        code_dim: subprocess.Popen(
            [
                sys.executable,
                "-c",
                RUN_SMALL_GRAPH,
                mlflow_store.tracking_uri,
                mlflow_store.artifact_root,
                str(tmp_path),
                json.dumps(small_config(code_dim)),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code_dim in (3, 9)
    }
    results = {}
    for code_dim, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        results[code_dim] = json.loads(out.strip().splitlines()[-1])
    assert all(r["success"] for r in results.values())
    client = mlflow_store.client()
    experiment = client.get_experiment_by_name(mlflow_store.experiment_name)
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    for code_dim, result in results.items():
        mine = [r for r in runs if r.data.tags["dagster.run_id"] == result["run_id"]]
        assert len(mine) == 4 and all(r.info.status == "FINISHED" for r in mine)  # parent + 3
        ae = next(r for r in mine if r.data.tags.get("dagster.asset_key") == "plain_autoencoder")
        assert ae.data.params["model.code_dim"] == str(code_dim)
        stored = torch.load(
            tmp_path / "models" / "plain_autoencoder" / f"{result['run_id']}.pt", weights_only=True
        )
        assert stored["config"]["code_dim"] == code_dim
        # the gate loaded this run's model, not the other run's: same MSE as the asset logged
        assert result["gate_mse"] == pytest.approx(ae.data.metrics["test/recon"], rel=1e-5)
    artifact_uris = {r.info.artifact_uri for r in runs}
    assert len(artifact_uris) == len(runs)  # every run writes under its own artifact folder


def test_report_compares_this_run_with_the_earlier_ones(mlflow_store, tmp_path):
    job = small_job(mlflow_store, tmp_path, extra=[AssetKey("experiment_report")])
    instance = DagsterInstance.ephemeral()
    config = small_config(4)
    first = job.execute_in_process(run_config=config, instance=instance)
    config["ops"]["plain_autoencoder"]["config"]["trainer"]["epochs"] = 6  # another config:
    config["ops"]["experiment_report"] = {"config": {"compare": "all"}}  # compared on request
    second = job.execute_in_process(run_config=config, instance=instance)
    report = second.output_for_node("experiment_report")
    this_run, [earlier] = report["this_run"], report["history"]  # not itself among the earlier
    assert this_run["dagster_run"] == second.run_id[:8]
    assert earlier["dagster_run"] == report["previous_run"] == first.run_id[:8]
    assert earlier["status"] == "FINISHED"
    mse = "plain_ae/test_recon_mse"
    assert this_run[mse] < earlier[mse]  # trained longer
    metadata = second.asset_materializations_for_node("experiment_report")[0].metadata
    assert "| plain_ae/test_recon_mse |" in metadata["changes"].value
    assert metadata["runs_compared"].value == 2 and metadata["plot_trends"].value.startswith(
        "![trends]"
    )


def test_a_failing_gate_stops_what_is_downstream(mlflow_store, tmp_path):
    job = small_job(mlflow_store, tmp_path, extra=[AssetKey("experiment_report")])
    config = small_config(4)
    config["ops"]["plain_autoencoder_reconstruction_gate"] = {"config": {"max_relative_mse": 1e-6}}
    result = job.execute_in_process(
        run_config=config, instance=DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    gate = next(
        c for c in result.get_asset_check_evaluations() if c.check_name == "reconstruction_gate"
    )
    assert not gate.passed and gate.metadata["max_relative_mse"].value == 1e-6
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "plain_autoencoder" in materialised and "experiment_report" not in materialised
