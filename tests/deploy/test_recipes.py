"""The deployment recipes, checked offline (no Docker engine, no Kubernetes here): the instance
template validates against Dagster's schema, the compose file and the Helm values hold the
services and the environment the code reads, and the code location loads with each executor."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deploy.cluster.services import LocalCluster

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
# what the code and the services read from the environment in the cluster profile (the
# telemetry and thread settings are the image's own)
CLUSTER_ENV = {
    key
    for key in LocalCluster(REPO / ".cluster" / "unused").env_names()
    if key.startswith(("UNSUP_", "DAGSTER_POSTGRES", "MLFLOW_TRACKING", "MLFLOW_S3", "AWS_"))
}


def test_the_instance_template_is_a_valid_dagster_instance_config(tmp_path):
    from dagster._core.instance.config import dagster_instance_config

    (tmp_path / "dagster.yaml").write_text((DEPLOY / "cluster" / "dagster.yaml").read_text())
    os.environ.setdefault("DAGSTER_POSTGRES_URL", "postgresql+psycopg2://u:p@h:5432/dagster")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_POSTGRES_URL"}
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"


def test_the_compose_file_holds_every_service_with_the_cluster_environment():
    compose = yaml.safe_load((DEPLOY / "docker" / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "s3",
        "mlflow",
        "webserver",
        "daemon",
        "worker-a",
        "worker-b",
    }
    environment = compose["x-unsup-env"]
    assert CLUSTER_ENV - {"UNSUP_STEP_QUEUES", "DAGSTER_HOME"} <= set(environment) | {
        "UNSUP_WORKER_NAME"
    }
    for name in ("worker-a", "worker-b"):
        command = services[name]["command"]
        assert command[:4] == ["celery", "-A", "dagster_celery.app", "worker"]
        assert (
            "--concurrency" in command
            and services[name]["environment"]["PYTHONPATH"] == "/opt/unsup/deploy/cluster"
        )
    assert "--artifacts-destination" in services["mlflow"]["command"]
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert '"torch==2.13.0"' in dockerfile and '".[cluster]"' in dockerfile
    assert "deploy/cluster/dagster.yaml" in dockerfile


def test_the_helm_values_run_the_code_location_with_one_job_per_step():
    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "pipelines.definitions", "-a", "defs"]
    env = {item["name"]: item["value"] for item in deployment["env"]}
    assert env["UNSUP_PROFILE"] == "cluster" and env["UNSUP_EXECUTOR"] == "k8s"
    assert env["UNSUP_STORAGE_URI"].startswith("s3://")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] is True


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["celery", "k8s", "multiprocess"])
def test_the_code_location_loads_with_each_executor(executor):
    env = {**os.environ, "UNSUP_PROFILE": "cluster", "UNSUP_EXECUTOR": executor}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pipelines.definitions import defs; "
            "print(defs.resolve_job_def('unsup_pipeline').executor_def.name)",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (
        done.stdout.strip()
        == {"k8s": "k8s", "celery": "celery", "multiprocess": "multiprocess"}[executor]
    )
