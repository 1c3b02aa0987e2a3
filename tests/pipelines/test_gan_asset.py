"""The gan_model asset with the tiny preset against a temporary MLflow store."""

from pathlib import Path

import pytest
import torch
from dagster import AssetKey, DagsterInstance

from pipelines.definitions import build_definitions
from pipelines.io_managers import TorchModelIOManager
from pipelines.presets import load_preset

pytestmark = pytest.mark.slow
KEYS = ("raw_dataset", "prepared_dataset", "gan_model")


def test_gan_model_materialises_with_losses_quality_grids_and_checkpoints(mlflow_store, tmp_path):
    preset = load_preset("tiny")["ops"]
    run_config = {"ops": {key: preset[key] for key in KEYS}}
    defs = build_definitions(
        mlflow=mlflow_store, model_io_manager=TorchModelIOManager(base_uri=str(tmp_path))
    )
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={AssetKey(key) for key in KEYS}
    )
    result = job.execute_in_process(run_config=run_config, instance=DagsterInstance.ephemeral())
    assert result.success
    models = result.output_for_node("gan_model")
    assert set(models) == {"generator", "discriminator"}
    epochs = preset["gan_model"]["config"]["trainer"]["epochs"]
    every = preset["gan_model"]["config"]["checkpoint_every"]

    client = mlflow_store.client()
    experiment = client.get_experiment_by_name(mlflow_store.experiment_name)
    runs = client.search_runs([experiment.experiment_id], max_results=50)
    gan = next(r for r in runs if r.data.tags.get("dagster.asset_key") == "gan_model")
    assert (
        gan.info.status == "FINISHED"
        and gan.data.params["trainer.generator_loss"] == "non_saturating"
    )
    for term in ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"):
        steps = [m.step for m in client.get_metric_history(gan.info.run_id, f"train/{term}")]
        assert steps == list(range(1, epochs + 1)), term
    metrics = gan.data.metrics
    for name in ("gan", "real_heldout", "gaussian", "noisy_real", "random_pixels"):
        assert {
            f"{name}/frechet_distance",
            f"{name}/classifier_score",
            f"{name}/n_classes_present",
            f"{name}/min_class_share",
            f"{name}/mean_confidence",
        } <= set(metrics), name
    assert metrics["real_heldout/frechet_distance"] < metrics["random_pixels/frechet_distance"]
    checkpoints = sorted({every * k for k in range(1, epochs // every + 1)} | {epochs})
    assert [
        m.step for m in client.get_metric_history(gan.info.run_id, "checkpoint/frechet_distance")
    ] == checkpoints
    plots = {a.path for a in client.list_artifacts(gan.info.run_id, "plots")}
    assert plots == {f"plots/samples_epoch_{e:04d}.png" for e in checkpoints} | {
        "plots/adversarial_losses.png",
        "plots/class_shares.png",
    }
    path = Path(client.download_artifacts(gan.info.run_id, "model/generator.pt", str(tmp_path)))
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["kind"] == "Generator" and checkpoint["config"]["out_features"] == 64
    assert "net.0.weight" in checkpoint["state_dict"]

    metadata = result.asset_materializations_for_node("gan_model")[0].metadata
    assert metadata["mlflow_run_id"].value == gan.info.run_id
    assert metadata[f"plot_samples_epoch_{epochs:04d}"].value.startswith("![samples_epoch_")
    assert metadata["quality"].value.count("\n") == 1 + 5  # header rule + gan and 4 baselines
