"""Shared fixtures: tiny data and a temporary MLflow store, one torch thread."""

import numpy as np
import pytest
import torch

from unsup_core.data import PrepareConfig, load_digits_dataset, prepare

torch.set_num_threads(1)


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
