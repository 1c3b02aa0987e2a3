"""Fault injection: `make run` (pipelines.run_job) as a subprocess on a fresh Dagster instance
and MLflow store, signals sent when a named step has started, and what is left afterwards."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import DagsterInstance
from mlflow.tracking import MlflowClient

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = "unsup-pipeline"


@dataclass
class Store:
    """A fresh Dagster home and MLflow store (SQLite) for `make run` processes."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": str(self.root),
            "DAGSTER_HOME": str(self.home),
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DAGSTER_DISABLE_TELEMETRY": "true",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    def start(self, preset: str, **extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines.run_job", "--preset", preset],
            cwd=REPO,
            env=self.env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, preset: str, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pipelines.run_job", "--preset", preset],
            cwd=REPO,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.tracking_uri)

    def mlflow_runs(self) -> list:
        client = self.client()
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return []
        return client.search_runs([experiment.experiment_id], max_results=5000)

    def running(self) -> list:
        return [r for r in self.mlflow_runs() if r.info.status == "RUNNING"]

    def dagster_runs(self) -> list:
        with DagsterInstance.from_config(str(self.home)) as instance:
            return list(instance.get_runs())

    def wait_for_step(self, process: subprocess.Popen, asset: str, timeout: float = 240) -> None:
        """Until ``asset``'s MLflow run is RUNNING (its step has started training)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert process.poll() is None, process.communicate()[1][-3000:]
            try:
                if any(r.data.tags.get("dagster.asset_key") == asset for r in self.running()):
                    return
            except Exception:  # the store is being created
                pass
            time.sleep(0.5)
        raise AssertionError(f"{asset} did not start within {timeout} s")


@pytest.fixture
def store(tmp_path) -> Store:
    fresh = Store(tmp_path)
    fresh.home.mkdir()
    (fresh.home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return fresh


def send(process: subprocess.Popen, signum: int) -> float:
    """Send ``signum``; return the seconds until the process exited."""
    sent = time.time()
    os.kill(process.pid, signum)
    process.wait(timeout=60)
    return time.time() - sent


__all__ = ["REPO", "Store", "send", "signal"]
