"""End to end with the real services: an ``mlflow server`` and ``dagster dev`` (webserver and
daemon) on free loopback ports with a temporary DAGSTER_HOME (the session's ``live_services``,
tests/pipelines/conftest.py). The job is launched through the GraphQL API; runs, metrics and
the registered model are read back through MLflow's REST client; the sensor is turned on and
fed a good and a malformed CSV. Every process is stopped."""

from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def champion_of(client: MlflowClient, name: str):
    try:
        return client.get_model_version_by_alias(name, "champion")
    except MlflowException:
        return None


def digits_csv(path: Path, rows: int) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    header = ",".join([f"p{i}" for i in range(64)] + ["label"])
    lines = [header] + [
        ",".join([*map(str, x.astype(int)), str(y)])
        for x, y in zip(digits.data[:rows], digits.target[:rows])
    ]
    path.write_text("\n".join(lines) + "\n")


def test_dagster_dev_and_mlflow_server_run_the_job_and_the_sensor(live_services, tiny_run):
    dagster, incoming = live_services.dagster, live_services.incoming
    wait_for = live_services.wait_for
    # 1. the job, launched through GraphQL with the tiny preset (the session's run)
    run_id = tiny_run
    client = live_services.client()  # the REST client
    experiment = client.get_experiment_by_name("unsup-pipeline")
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`dagster.run_id` = '{run_id}'",
        max_results=200,
    )
    parent = [r for r in runs if r.data.tags["dagster.level"] == "run"]
    assets = {
        r.data.tags["dagster.asset_key"]: r for r in runs if r.data.tags["dagster.level"] == "asset"
    }
    assert len(parent) == 1 and parent[0].info.status == "FINISHED"
    assert {
        "raw_dataset",
        "student_model",
        "code_som",
        "registered_models",
        "experiment_report",
    } <= set(assets)
    assert all(r.info.status == "FINISHED" for r in assets.values())
    assert assets["student_model"].data.metrics["test/accuracy"] > 0.1
    assert experiment.artifact_location.startswith("mlflow-artifacts:")  # served by the server
    assert "experiment_report.md" in {
        a.path for a in client.list_artifacts(assets["experiment_report"].info.run_id)
    }
    # the alias moves once the run has succeeded: the daemon's settle_on_success sensor
    champion = wait_for(lambda: champion_of(client, "unsup-digits-student"), 120, "champion")
    assert champion.run_id == assets["student_model"].info.run_id  # the run that trained it

    # 2. the sensor: a good CSV runs the graph on it; a malformed one fails its own run
    (incoming / "sensor.yaml").write_text(
        "preset: tiny\n"
        "raw_dataset: {label_column: label, image_shape: [8, 8], constant_columns: keep}\n"
    )
    assert dagster.start_sensor("incoming_data_sensor") == "RUNNING"
    digits_csv(incoming / "batch_01.csv", 700)
    good = wait_for(
        lambda: dagster.runs_with_tag("unsup/trigger", "sensor"), 120, "the sensor's first run"
    )
    status, _ = dagster.wait(good[0]["runId"], 600)
    assert status == "SUCCESS", dagster.step_failures(good[0]["runId"])
    assert wait_for(lambda: champion_of(client, "unsup-batch_01-student"), 120, "champion")
    (sensor_parent,) = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`dagster.run_id` = '{good[0]['runId']}' "
        "and tags.`dagster.level` = 'run'",
    )
    assert sensor_parent.data.tags["unsup/incoming_file"] == str(incoming / "batch_01.csv")

    (incoming / "batch_02.csv").write_text("p0,p1,label\n1,2,3\n4,,5\n")  # a missing value
    bad = wait_for(
        lambda: [
            r
            for r in dagster.runs_with_tag("unsup/trigger", "sensor")
            if r["runId"] != good[0]["runId"]
        ],
        120,
        "the malformed file's run",
    )
    assert dagster.wait(bad[0]["runId"], 300)[0] == "FAILURE"
    failures = dagster.step_failures(bad[0]["runId"])
    assert any(
        f.startswith("raw_dataset") and "batch_02.csv', column 'p1', row 1 (line 3)" in f
        for f in failures
    ), failures
    sensor = "incoming_data_sensor"
    last_tick = max(t["timestamp"] for t in dagster.sensor(sensor)["ticks"])
    state = wait_for(
        lambda: (
            (s := dagster.sensor(sensor))
            and max(t["timestamp"] for t in s["ticks"]) > last_tick
            and s
        ),
        60,
        "a sensor tick after the failed run",
    )
    assert state["status"] == "RUNNING"  # the failed run did not stop the sensor
