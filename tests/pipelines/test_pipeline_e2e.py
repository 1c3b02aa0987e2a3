"""The whole current graph, materialised with the `tiny` preset into a temporary MLflow store."""

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from dagster import AssetCheckSeverity, AssetKey, DagsterInstance

from pipelines.definitions import ASSETS, JOB_NAME, build_definitions
from pipelines.io_managers import TorchModelIOManager
from pipelines.lifecycle import settle_run
from pipelines.presets import config_hash, load_preset
from unsup_core.autoencoders.zoo import ZOO_KINDS

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run_pipeline(mlflow_store, tmp_path, run_config):
    defs = build_definitions(
        mlflow=mlflow_store, model_io_manager=TorchModelIOManager(base_uri=str(tmp_path))
    )
    job = defs.resolve_job_def(JOB_NAME)
    instance = DagsterInstance.ephemeral()
    result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)
    settle_run(instance, mlflow_store, result.run_id)  # as `make run` and the sensors do
    return result


def runs_by_asset(runs):
    return {
        r.data.tags["dagster.asset_key"]: r for r in runs if r.data.tags["dagster.level"] == "asset"
    }


def mlflow_runs(store):
    client = store.client()
    experiment = client.get_experiment_by_name(store.experiment_name)
    return client, client.search_runs([experiment.experiment_id], max_results=100)


def test_tiny_preset_materialises_everything_and_tracks_it(mlflow_store, tmp_path):
    result = run_pipeline(mlflow_store, tmp_path, load_preset("tiny"))
    assert result.success
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialised == {a.key.to_user_string() for a in ASSETS}
    checks = result.get_asset_check_evaluations()
    assert all(c.passed for c in checks if c.severity == AssetCheckSeverity.ERROR)
    warned = {c.check_name for c in checks if not c.passed}
    assert warned <= {"gan_collapse", "probe_vs_raw_features", "student_vs_baseline"}, warned
    [report] = [
        e.step_materialization_data.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "experiment_report"
    ]
    listed = report.metadata["failed_checks"].value  # the report flags them, with the finding
    assert all(f":{name} (WARN)" in listed for name in warned), listed

    client, runs = mlflow_runs(mlflow_store)
    parents = [r for r in runs if r.data.tags["dagster.level"] == "run"]
    children = {
        r.data.tags["dagster.asset_key"]: r for r in runs if r.data.tags["dagster.level"] == "asset"
    }
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.tags["dagster.run_id"] == result.run_id
    # The parent says what ran and holds every headline metric, so pipeline runs compare.
    parent = parents[0]
    experiment = client.get_experiment(parent.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert parent.data.tags["unsup.preset"] == "default (edited)"  # the default job, tiny config
    assert parent.data.tags["unsup.data"] == "digits"
    assert parent.data.tags["unsup.config_hash"] == config_hash(load_preset("tiny"))
    assert parent.data.params["plain_autoencoder.trainer.epochs"] == "3"
    assert parent.data.metrics["student/accuracy"] == pytest.approx(
        runs_by_asset(runs)["student_model"].data.metrics["test/accuracy"]
    )
    assert "plots/plain_autoencoder.png" in {
        a.path for a in client.list_artifacts(parent.info.run_id, "plots")
    }
    assert set(children) == materialised - {"validated_run_config"}  # the check logs no run
    for name, child in children.items():
        assert child.info.run_name == f"{name} · {result.run_id[:8]}"
        assert child.info.status == "FINISHED"
        assert child.data.tags["dagster.run_id"] == result.run_id
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert child.data.tags["dagster.code_version"]

    ae = children["plain_autoencoder"]
    assert ae.data.params["trainer.epochs"] == "3" and ae.data.params["model.code_dim"] == "8"
    assert [m.step for m in client.get_metric_history(ae.info.run_id, "train/recon")] == [1, 2, 3]
    assert [m.step for m in client.get_metric_history(ae.info.run_id, "val/loss")] == [1, 2, 3]
    assert 0 < ae.data.metrics["test/recon"] < 0.2
    plots = {a.path for a in client.list_artifacts(ae.info.run_id, "plots")}
    assert plots == {"plots/loss_curves.png", "plots/reconstructions.png"}
    checkpoint = Path(
        client.download_artifacts(ae.info.run_id, "model/checkpoint.pt", str(tmp_path))
    )
    state = torch.load(checkpoint, weights_only=True)
    assert state["kind"] == "Autoencoder" and state["config"]["code_dim"] == 8
    prepared = children["prepared_dataset"]
    assert (
        prepared.data.metrics["n_train"]
        + prepared.data.metrics["n_test"]
        + prepared.data.metrics["n_val"]
        == 1797
    )
    assert [a.path for a in client.list_artifacts(prepared.info.run_id)] == ["data_summary.json"]

    som = children["data_som"]
    assert (
        som.data.metrics["quantization_error"] > 0
        and 0 <= som.data.metrics["topographic_error"] <= 1
    )
    assert (
        0.5 < som.data.metrics["purity"] <= 1 and "test/majority_vote_accuracy" in som.data.metrics
    )
    assert [
        m.step for m in client.get_metric_history(som.info.run_id, "epoch/quantization_error")
    ] == [1, 2, 3]
    assert {a.path for a in client.list_artifacts(som.info.run_id, "plots")} == {
        f"plots/{name}.png"
        for name in ("u_matrix", "density", "hit_map", "component_planes", "label_overlay")
    }

    zoo_runs = {
        r.data.tags["dagster.nested"]: r for r in runs if r.data.tags["dagster.level"] == "nested"
    }
    assert set(zoo_runs) == set(ZOO_KINDS)
    for kind, run in zoo_runs.items():
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == children["autoencoder_zoo"].info.run_id
        assert {
            "test/recon",
            "probe/accuracy",
            "codes/near_zero_fraction",
            "codes/jacobian_norm",
            "train/loss",
        } <= set(run.data.metrics), kind
    assert {"test/elbo", "vae/active_units"} <= set(zoo_runs["variational"].data.metrics)
    assert {
        a.path for a in client.list_artifacts(zoo_runs["variational"].info.run_id, "plots")
    } == {
        "plots/codes.png",
        "plots/reconstructions.png",
        "plots/samples.png",
        "plots/interpolation.png",
    }
    zoo_metadata = result.asset_materializations_for_node("autoencoder_zoo")[0].metadata
    assert zoo_metadata["comparison"].value.count("\n") == len(ZOO_KINDS) + 1

    stacked = children["stacked_autoencoder"]
    assert [
        m.step for m in client.get_metric_history(stacked.info.run_id, "layer2/train/loss")
    ] == [1, 2]
    assert (
        "finetune/train/loss" in stacked.data.metrics and "probe/accuracy" in stacked.data.metrics
    )
    transfer = children["transfer_models"]
    assert {
        f"accuracy/{encoder}/{mode}/k{k}"
        for encoder in ("stacked", "ssl")
        for mode in ("frozen", "finetune", "scratch")
        for k in (1, "all")
    } <= set(transfer.data.metrics)
    assert {a.path for a in client.list_artifacts(transfer.info.run_id)} >= {
        "transfer_curve.md",
        "transfer_curve.json",
        "plots",
        "model",
    }
    ssl = children["ssl_encoder"]
    assert ssl.data.tags["pretext"] == "patch_position" and "test/accuracy" in ssl.data.metrics

    student = children["student_model"].data.metrics
    assert {
        "test/accuracy",
        "baseline/test_accuracy",
        "agreement_with_teacher",
        "size_ratio_teacher_to_student",
        "speed_ratio_teacher_to_student",
    } <= set(student)
    assert student["size_ratio_teacher_to_student"] > 1
    lupi = children["privileged_student"].data.metrics
    assert lupi["n_features_student"] == 16 and lupi["n_features_privileged"] == 64
    assert "test/accuracy" in children["teacher_model"].data.metrics

    code_som = children["code_som"]
    assert code_som.data.params["code_dim"] == "16"  # the student's hidden layer (tiny: 16 units)
    assert (
        0 <= code_som.data.metrics["topographic_error"] <= 1 and "purity" in code_som.data.metrics
    )
    assert {a.path for a in client.list_artifacts(code_som.info.run_id, "plots")} == {
        f"plots/{name}.png"
        for name in ("u_matrix", "density", "hit_map", "component_planes", "label_overlay")
    }

    registry = children["registered_models"]
    for role, metric in (("student", "test_accuracy"), ("encoder", "probe_accuracy")):
        name = f"unsup-digits-{role}"
        champion = client.get_model_version_by_alias(name, "champion")
        trained_by = children["student_model" if role == "student" else "stacked_autoencoder"]
        assert str(champion.version) == "1" and champion.run_id == trained_by.info.run_id
        assert champion.source.endswith(f"/{name}/mlflow_model")
        assert champion.tags["role"] == "champion"
        assert float(champion.tags[metric]) == pytest.approx(
            registry.data.metrics[f"{role}/{metric}"]
        )
        assert registry.data.tags[f"{role}.decision"] == (
            "first version: no champion yet; champion once the whole run has succeeded"
        )
    assert student["test/accuracy"] == pytest.approx(registry.data.metrics["student/test_accuracy"])

    report = children["experiment_report"]
    assert {a.path for a in client.list_artifacts(report.info.run_id)} >= {
        "experiment_report.md",
        "experiment_report.csv",
        "experiment_report.json",
        "plots",
    }
    report_value = result.output_for_node("experiment_report")
    this_run = report_value["this_run"]  # the first run: no history of its own yet
    assert report_value["history"] == [] and this_run["dagster_run"] == result.run_id[:8]
    assert this_run["student/accuracy"] == pytest.approx(student["test/accuracy"])
    assert this_run["code_som/purity"] == pytest.approx(code_som.data.metrics["purity"])
    checks = {
        (c.asset_key.to_user_string(), c.check_name) for c in result.get_asset_check_evaluations()
    }
    assert {
        ("student_model", "student_accuracy_gate"),
        ("code_som", "topographic_error_gate"),
        ("plain_autoencoder", "reconstruction_gate"),
        ("student_model", "finite_outputs"),
        ("transfer_models", "finite_outputs"),
    } <= checks

    metadata = result.asset_materializations_for_node("plain_autoencoder")[0].metadata
    assert metadata["mlflow_run_id"].value == ae.info.run_id
    assert metadata["plot_loss_curves"].value.startswith("![loss_curves](data:image/png;base64,")


def test_a_diverging_asset_leaves_its_run_and_the_parent_failed(mlflow_store, tmp_path):
    run_config = copy.deepcopy(load_preset("tiny"))
    trainer = run_config["ops"]["plain_autoencoder"]["config"]["trainer"]
    trainer.update(optimizer="sgd", lr=1e8)
    result = run_pipeline(mlflow_store, tmp_path, run_config)
    assert not result.success
    _, runs = mlflow_runs(mlflow_store)
    status = {r.data.tags.get("dagster.asset_key", "parent"): r.info.status for r in runs}
    assert status.pop("plain_autoencoder") == "FAILED" and status.pop("parent") == "FAILED"
    assert set(status.values()) == {"FINISHED"}  # every other asset ran and ended cleanly
    assert {"raw_dataset", "prepared_dataset"} <= set(status)
    failed = next(r for r in runs if r.data.tags.get("dagster.asset_key") == "plain_autoencoder")
    assert "training diverged at epoch 1" in failed.data.tags["error"]


def test_bad_data_fails_the_raw_dataset_run_with_the_data_error(mlflow_store, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,,y\n")
    run_config = {
        "ops": {
            "raw_dataset": {"config": {"source": "file", "path": str(bad), "label_column": "label"}}
        }
    }
    result = run_pipeline(mlflow_store, tmp_path, run_config)
    assert not result.success
    _, runs = mlflow_runs(mlflow_store)
    raw = next(r for r in runs if r.data.tags.get("dagster.asset_key") == "raw_dataset")
    assert raw.info.status == "FAILED"
    assert "column 'b', row 1 (line 3)" in raw.data.tags["error"]


def test_definitions_validate_from_the_command_line(tmp_path):
    dagster = Path(sys.executable).parent / "dagster"
    completed = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": str(dagster.parent), "DAGSTER_HOME": str(tmp_path), "HOME": str(tmp_path)},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Validation successful" in completed.stdout + completed.stderr


def test_a_voting_record_csv_gets_its_som_with_one_plane_per_vote(mlflow_store, tmp_path):
    rng = np.random.default_rng(0)
    votes = [f"vote_{k}" for k in range(6)]
    rows = ["party," + ",".join(votes)]
    for i in range(80):
        party = "democrat" if i % 2 else "republican"
        lean = 0.85 if party == "democrat" else 0.15
        answers = [
            "?" if rng.random() < 0.05 else ("y" if rng.random() < lean else "n") for _ in votes
        ]
        rows.append(",".join([party, *answers]))
    csv = tmp_path / "house-votes.csv"
    csv.write_text("\n".join(rows))
    run_config = {
        "ops": {
            "raw_dataset": {
                "config": {
                    "source": "file",
                    "path": str(csv),
                    "label_column": "party",
                    "categorical": "ordinal",
                }
            },
            "data_som": {"config": {"som": {"rows": 4, "cols": 4, "epochs": 5}}},
        }
    }
    defs = build_definitions(
        mlflow=mlflow_store, model_io_manager=TorchModelIOManager(base_uri=str(tmp_path))
    )
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={
            AssetKey("raw_dataset"),
            AssetKey("prepared_dataset"),
            AssetKey("data_som"),
        }
    )
    result = job.execute_in_process(run_config=run_config, instance=DagsterInstance.ephemeral())
    assert result.success
    som = result.output_for_node("data_som")
    assert som.weights_.shape == (16, 6)
    _, runs = mlflow_runs(mlflow_store)
    run = next(r for r in runs if r.data.tags.get("dagster.asset_key") == "data_som")
    assert run.data.metrics["purity"] > 0.8  # the parties separate on the map
