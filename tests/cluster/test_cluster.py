"""The cluster profile on one machine, with real services on loopback: PostgreSQL (Dagster's
instance, MLflow's backend), Redis and two Celery workers, an S3 server, the MLflow server,
dagster-daemon and the webserver. Worker b runs in its own mount namespace with empty tmpfs
over the instance's storage folder, ``mlflow/`` and its temp folder: it cannot see worker a's
disk, so the steps routed to it prove that values pass through object storage.

Skipped with a one-line reason where the services cannot run (no root, no Debian packages),
except under ``CI=true`` (``.ci/run`` exports it), where the test must run.
"""

import os
import signal
import time
from pathlib import Path

import pytest

from deploy.cluster.services import BUCKET, REPO
from deploy.webserver_client import DagsterWebserver
from pipelines.presets import load_preset
from pipelines.profiles import step_queues

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


def mlflow_runs(dagster_run_id: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name("unsup-pipeline")
    if experiment is None:  # no step has logged anything yet
        return []
    return client.search_runs(
        [experiment.experiment_id],
        max_results=500,
        filter_string=f"tags.`dagster.run_id` = '{dagster_run_id}'",
    )


def loaded_uris(run_id: str) -> dict[str, str]:
    """Each step input's stored URI, from the LOADED_INPUT events of the run."""
    from dagster import DagsterEventType, DagsterInstance

    events = DagsterInstance.get().all_logs(run_id, of_type=DagsterEventType.LOADED_INPUT)
    uris = {}
    for event in events:
        data = event.dagster_event.event_specific_data
        uri = data.metadata.get("stored_uri")
        if uri is not None:
            uris[f"{event.step_key}:{data.input_name}"] = uri.value
    return uris


def stored_uris(run_id: str) -> dict[str, str]:
    """Each materialised asset's stored URI, from the run's materialisation events."""
    from dagster import DagsterEventType, DagsterInstance

    events = DagsterInstance.get().all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    uris = {}
    for event in events:
        materialization = event.dagster_event.event_specific_data.materialization
        if "stored_uri" in materialization.metadata:
            uris[materialization.asset_key.to_user_string()] = materialization.metadata[
                "stored_uri"
            ].value
    return uris


def test_two_workers_share_nothing_but_the_object_store(cluster):
    api = DagsterWebserver(cluster.webserver_url)
    run_id = api.launch(load_preset("tiny"))
    status, seconds = api.wait(run_id, 420)
    print(
        f"\ncluster: services up in {cluster.startup_seconds:.0f} s, tiny graph on two "
        f"workers in {seconds:.0f} s"
    )
    assert status == "SUCCESS", cluster.service("daemon").log.read_text()[-3000:]

    runs = mlflow_runs(run_id)
    assert runs and all(r.info.status == "FINISHED" for r in runs)
    workers = {
        r.data.tags.get("dagster.asset_key"): r.data.tags.get("unsup.worker", "")
        for r in runs
        if r.data.tags.get("dagster.level") == "asset"
    }
    assert workers["prepared_dataset"].startswith("a/")
    routed = [step for step, queue in step_queues().items() if queue == "b"]
    assert routed
    for step in routed:
        assert workers[step].startswith("b/"), (step, workers[step])
    # worker b read worker a's output through object storage, from this run
    assert (
        loaded_uris(run_id)["plain_autoencoder:prepared_dataset"]
        == f"s3://{BUCKET}/pipeline/values/prepared_dataset/{run_id}.pkl"
    )
    stored = stored_uris(run_id)
    assert len(stored) >= 13 and all(uri.startswith(f"s3://{BUCKET}/") for uri in stored.values())
    assert not [f for f in cluster.isolated_files("b") if f.endswith((".pt", ".pkl"))]

    import boto3
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    objects = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="mlflow/")
    assert any(o["Key"].endswith(".png") for o in objects.get("Contents", []))
    assert all(r.info.artifact_uri.startswith("mlflow-artifacts:") for r in runs)
    # the alias moves once the run has succeeded (the daemon's settle_on_success sensor)
    client, champion, deadline = MlflowClient(), None, time.monotonic() + 90
    while champion is None and time.monotonic() < deadline:
        try:
            champion = client.get_model_version_by_alias("unsup-digits-student", "champion")
        except MlflowException:
            time.sleep(2)
    assert champion is not None and champion.tags["dagster.run_id"] == run_id


def test_a_lost_worker_fails_the_run_closes_its_mlflow_runs_and_reexecution_recovers(cluster):
    api = DagsterWebserver(cluster.webserver_url)
    run_id = api.launch(load_preset("tiny"))
    deadline, pid = time.monotonic() + 300, None
    while pid is None and time.monotonic() < deadline:  # the routed step starts on worker b
        for run in mlflow_runs(run_id):
            tags = run.data.tags
            if (
                tags.get("dagster.asset_key") == "plain_autoencoder"
                and run.info.status == "RUNNING"
                and tags.get("unsup.worker", "").startswith("b/")
            ):
                pid = int(tags["unsup.worker"].split("/")[1])
        time.sleep(0.5)
    assert pid is not None, "the step never started on worker b"
    os.kill(pid, signal.SIGKILL)  # the process running the step dies, as under the OOM killer
    status, _ = api.wait(run_id, 120)
    assert status == "FAILURE", status
    # this run read only its own values (nothing of the earlier run)
    assert all(run_id in uri for uri in loaded_uris(run_id).values())
    deadline = time.monotonic() + 90  # the daemon's sensor ends what the dead step left open
    while time.monotonic() < deadline and any(
        r.info.status == "RUNNING" for r in mlflow_runs(run_id)
    ):
        time.sleep(2)
    assert [r.info.run_id for r in mlflow_runs(run_id) if r.info.status == "RUNNING"] == []
    again = api.reexecute_from_failure(run_id)
    status, _ = api.wait(again, 420)
    assert status == "SUCCESS"
    assert all(r.info.status == "FINISHED" for r in mlflow_runs(again))


def test_the_dagster_instance_config_template_is_the_one_in_use(cluster):
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert instance.run_monitoring_enabled
    assert (
        Path(os.environ["DAGSTER_HOME"], "dagster.yaml").read_text()
        == (REPO / "deploy" / "cluster" / "dagster.yaml").read_text()
    )


def test_a_step_trains_on_two_processes_through_pipes_on_a_worker(cluster):
    """The plain autoencoder's step on worker b runs its training under torchrun (2 ranks,
    gloo), its metrics and model coming back through Dagster Pipes."""
    api = DagsterWebserver(cluster.webserver_url)
    steps = ("raw_dataset", "prepared_dataset", "plain_autoencoder")
    ops = load_preset("tiny")["ops"]
    run_config = {
        "ops": {op: ops[op] for op in ops if op.startswith(steps)},
        "resources": {"distributed": {"config": {"processes": 2}}},
    }
    run_id = api.launch(run_config, assets=steps)
    status, _ = api.wait(run_id, 300)
    assert status == "SUCCESS"
    (autoencoder,) = [
        r
        for r in mlflow_runs(run_id)
        if r.data.tags.get("dagster.asset_key") == "plain_autoencoder"
    ]
    assert autoencoder.data.tags["world_size"] == "2"
    assert autoencoder.data.tags["unsup.worker"].startswith("b/")
    assert autoencoder.info.status == "FINISHED" and "train/loss" in autoencoder.data.metrics


def test_sources_and_the_sensor_read_the_object_store(cluster):
    import boto3
    from dagster import DagsterInstance, build_sensor_context
    from upath import UPath

    from pipelines.definitions import JOB_NAME, defs
    from pipelines.sensors import build_incoming_data_sensor
    from unsup_core.data import SourceConfig, load_dataset

    boto3.client("s3").put_object(
        Bucket=BUCKET, Key="incoming/votes.csv", Body=b"q1,q2,label\n1,0,a\n0,1,b\n1,1,a\n"
    )
    dataset = load_dataset(
        SourceConfig(source="file", path=f"s3://{BUCKET}/incoming/votes.csv", label_column="label")
    )
    assert dataset.X.shape == (3, 2) and dataset.source == f"s3://{BUCKET}/incoming/votes.csv"
    sensor = build_incoming_data_sensor(
        defs.resolve_job_def(JOB_NAME), folder=UPath(f"s3://{BUCKET}/incoming"), settle_seconds=0
    )
    result = sensor.evaluate_tick(build_sensor_context(instance=DagsterInstance.ephemeral()))
    (request,) = result.run_requests
    assert (
        request.run_config["ops"]["raw_dataset"]["config"]["path"]
        == f"s3://{BUCKET}/incoming/votes.csv"
    )
    again = sensor.evaluate_tick(
        build_sensor_context(cursor=result.cursor, instance=DagsterInstance.ephemeral())
    )
    assert not again.run_requests  # each version once, from the store's metadata
