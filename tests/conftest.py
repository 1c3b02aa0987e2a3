"""Shared fixtures: tiny data, a temporary MLflow store, one torch thread, and the cluster's
services, started once per test session for every test that asks for them."""

import os
import shutil
import uuid
from unittest import mock

import numpy as np
import pytest
import torch

from deploy.cluster.services import REPO, LocalCluster, install, missing_prerequisites
from unsup_core.data import PrepareConfig, load_digits_dataset, prepare

torch.set_num_threads(1)
ROUTED_TO_WORKER_B = ("plain_autoencoder", "teacher_model")  # steps the isolated worker runs


@pytest.fixture(scope="session")
def digits():
    return load_digits_dataset()


@pytest.fixture(scope="session")
def prepared_digits(digits):
    return prepare(digits, PrepareConfig(seed=0))


@pytest.fixture
def blobs():
    """400 points in 8-D around two centres: a toy problem any autoencoder learns."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2, 8)).astype(np.float32) * 3
    labels = rng.integers(0, 2, size=400)
    X = centres[labels] + 0.1 * rng.normal(size=(400, 8)).astype(np.float32)
    return X.astype(np.float32), labels


@pytest.fixture
def mlflow_store(tmp_path):
    """An MlflowTracking resource on a throw-away SQLite store and artifact folder."""
    from pipelines.resources import MlflowTracking

    return MlflowTracking(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_root=str(tmp_path / "artifacts"),
        experiment_name="test",
    )


@pytest.fixture(scope="session")
def cluster_services():
    """PostgreSQL, Redis, S3, the MLflow server, daemon, webserver and two Celery workers (b in
    its own mount namespace), once per session; every process stopped by PID at the end.

    Skipped with a one-line reason where they cannot run (no root, no Debian packages), except
    under ``CI=true`` (``.ci/run`` exports it), where that is a failure. The test process's own
    environment is left alone: ask for ``cluster`` to see the cluster profile's variables.
    """
    install()
    missing = missing_prerequisites()
    if missing:
        message = "cluster services cannot run here: missing " + "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = REPO / ".cluster" / f"test-{uuid.uuid4().hex[:8]}"
    try:
        with LocalCluster(
            root,
            workers={"a": ("dagster", "a"), "b": ("b",)},
            isolated=("b",),
            step_queues=",".join(f"{step}=b" for step in ROUTED_TO_WORKER_B),
        ) as running:
            yield running
    finally:
        if not os.environ.get("UNSUP_KEEP_CLUSTER"):  # set it to read the services' logs
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cluster(cluster_services):
    """The session's cluster, with its profile's variables (S3 endpoint, tracking URI, ...) in
    ``os.environ`` for this test only, so later tests see the machine's own environment."""
    with mock.patch.dict(os.environ, cluster_services.env()):
        yield cluster_services
