"""End to end with the real services: an ``mlflow server`` and ``dagster dev`` (webserver and
daemon) on free loopback ports with a temporary DAGSTER_HOME. The job is launched through the
GraphQL API; runs, metrics and the registered model are read back through MLflow's REST client;
the sensor is turned on and fed a good and a malformed CSV. Every process is stopped."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from deploy.webserver_client import DagsterWebserver
from pipelines.presets import load_preset

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, every: float = 1.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


class Services:
    """Starts processes in their own process groups and stops every one of them."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 - the server writes to it
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()[-4000:]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


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


def test_dagster_dev_and_mlflow_server_run_the_job_and_the_sensor(tmp_path):
    mlflow_port, dagster_port = free_port(), free_port()
    home, incoming = tmp_path / "dagster_home", tmp_path / "incoming"
    home.mkdir()
    incoming.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nrun_queue:\n  max_concurrent_runs: 1\n"
    )
    tracking = f"http://127.0.0.1:{mlflow_port}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MLFLOW_TRACKING_URI": tracking,
        "UNSUP_INCOMING_DIR": str(incoming),
        "UNSUP_SENSOR_INTERVAL": "3",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DAGSTER_DISABLE_TELEMETRY": "true",
        "PYTHONUNBUFFERED": "1",
    }
    services = Services(tmp_path)
    try:
        services.start(
            "mlflow",
            [
                str(BIN / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(mlflow_port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{tmp_path / 'mlflow.db'}",
                "--artifacts-destination",
                str(tmp_path / "artifacts"),
            ],
            env,
        )
        services.start(
            "dagster",
            [
                str(BIN / "dagster"),
                "dev",
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(dagster_port),
            ],
            env,
        )
        wait_for(
            lambda: http_ok(f"{tracking}/health"), 120, "mlflow server\n" + services.log("mlflow")
        )
        dagster = DagsterWebserver(f"http://127.0.0.1:{dagster_port}")
        wait_for(
            lambda: http_ok(f"http://127.0.0.1:{dagster_port}/server_info"),
            180,
            "dagster webserver",
        )
        wait_for(dagster.repository, 180, "the code location")

        # 1. the job, launched through GraphQL with the tiny preset
        run_id = dagster.launch(load_preset("tiny"))
        assert dagster.wait(run_id, 600)[0] == "SUCCESS", dagster.step_failures(run_id)

        client = MlflowClient(tracking_uri=tracking)  # the REST client
        experiment = client.get_experiment_by_name("unsup-pipeline")
        runs = client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.`dagster.run_id` = '{run_id}'",
            max_results=200,
        )
        parent = [r for r in runs if r.data.tags["dagster.level"] == "run"]
        assets = {
            r.data.tags["dagster.asset_key"]: r
            for r in runs
            if r.data.tags["dagster.level"] == "asset"
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
        assert champion.run_id == assets["registered_models"].info.run_id

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
    finally:
        services.stop()
    assert all(process.poll() is not None for process in services.processes)
