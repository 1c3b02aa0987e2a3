"""Golden values: numbers of a few seeded runs, committed in ``values.json`` and compared here
with tight tolerances, so that any change of the numbers the library computes is noticed.

The file is written only on purpose, by ``python tests/unsup_core/golden/regenerate.py`` (which
calls :func:`golden_values` of this module); this test only reads it. Regenerate after a change
that is meant to move the numbers, and say why in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from unsup_core.arrays import apply_array
from unsup_core.autoencoders import (
    Autoencoder,
    AutoencoderConfig,
    LinearAutoencoder,
    LinearAutoencoderConfig,
)
from unsup_core.competitive import KohonenMap
from unsup_core.training import Trainer, TrainerConfig
from unsup_core.training.runtime import blas_threads, torch_threads

GOLDEN_FILE = Path(__file__).with_name("values.json")
RELATIVE = 1e-5  # float32 training and BLAS summation order move the last digits only
WEIGHT_NODES = (0, 7, 19)  # map nodes whose weights are recorded


def som_data() -> np.ndarray:
    """300 points in 4-D around three centres, float64 (seed 20240601)."""
    rng = np.random.default_rng(20240601)
    centres = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
    return centres[rng.integers(0, 3, size=300)] + 0.15 * rng.normal(size=(300, 4))


def low_rank_data() -> tuple[np.ndarray, np.ndarray]:
    """(train (400, 10), test (100, 10)) float32: 3 Gaussian factors mixed into 10 features
    plus noise of standard deviation 0.1 (seed 7)."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(500, 3)) @ rng.normal(size=(3, 10)) + 0.1 * rng.normal(size=(500, 10))
    X = X.astype(np.float32)
    return X[:400], X[400:]


def map_values(som: KohonenMap, X: np.ndarray) -> dict[str, float | list[float]]:
    """Quantisation and topographic error of a fitted map on X and the weights of a few nodes.

    Parameters
    ----------
    som : the fitted map (4 x 5 nodes).
    X : (n, 4) the data it was fitted on.
    """
    return {
        "quantization_error": som.quantization_error(X),
        "topographic_error": som.topographic_error(X),
        "weights": [float(w) for w in som.weights_[list(WEIGHT_NODES)].ravel()],
    }


def golden_values() -> dict[str, float | list[float]]:
    """Every golden number, computed afresh with one torch and one BLAS thread.

    Returns
    -------
    Flat ``{name: number or list of numbers}``:

    ``som_batch/*``, ``som_online/*``
        :func:`map_values` of a 4 x 5 batch map (PCA initialisation, 10 epochs) and of an online
        map (sample initialisation, 3 epochs, seed 0) on :func:`som_data`.
    ``linear_ae/test_mse``, ``pca/test_mse``
        Test reconstruction MSE of a linear autoencoder with 3 codes (200 cosine-annealed epochs,
        Adam lr 0.05, seed 0) and of PCA(3), both fitted on the training part of
        :func:`low_rank_data`.
    ``plain_ae/final_train_loss``
        Mean training loss of the last of 5 epochs of an 8 -> 6 -> 2 autoencoder (seed 0,
        Adam lr 0.01, batch 32) on 256 uniform points in [0, 1]^8 (seed 3).
    """
    values: dict[str, float | list[float]] = {}
    with torch_threads(1), blas_threads(1):
        X = som_data()
        batch = KohonenMap(4, 5, algorithm="batch", epochs=10, random_state=0).fit(X)
        online = KohonenMap(
            4, 5, algorithm="online", epochs=3, init="sample", sigma_start=2.0, random_state=0
        ).fit(X)
        for name, som in (("som_batch", batch), ("som_online", online)):
            values.update({f"{name}/{k}": v for k, v in map_values(som, X).items()})

        train, test = low_rank_data()
        linear = LinearAutoencoder(LinearAutoencoderConfig(in_features=10, code_dim=3, seed=0))
        Trainer(
            TrainerConfig(epochs=200, batch_size=50, lr=0.05, lr_schedule="cosine", seed=0)
        ).fit(linear, {"x": train})
        pca = PCA(3).fit(train)
        values["linear_ae/test_mse"] = float(((apply_array(linear, test) - test) ** 2).mean())
        values["pca/test_mse"] = float(
            ((pca.inverse_transform(pca.transform(test)) - test) ** 2).mean()
        )

        X = np.random.default_rng(3).uniform(0, 1, size=(256, 8)).astype(np.float32)
        plain = Autoencoder(AutoencoderConfig(in_features=8, hidden=(6,), code_dim=2, seed=0))
        history = Trainer(TrainerConfig(epochs=5, batch_size=32, lr=1e-2, seed=0)).fit(
            plain, {"x": X}
        )
        values["plain_ae/final_train_loss"] = history.final["train/loss"]
    return values


@pytest.fixture(scope="module")
def committed() -> dict[str, float | list[float]]:
    """The values of the committed file."""
    return json.loads(GOLDEN_FILE.read_text())["values"]


@pytest.fixture(scope="module")
def fresh() -> dict[str, float | list[float]]:
    """The values computed now (and the torch thread count left as it was)."""
    before = torch.get_num_threads()
    values = golden_values()
    assert torch.get_num_threads() == before  # the threads setting is restored
    return values


def test_the_same_numbers_are_computed_and_committed(committed, fresh):
    assert sorted(fresh) == sorted(committed), "regenerate values.json: the set of values changed"


@pytest.mark.parametrize(
    "name",
    [
        "som_batch/quantization_error",
        "som_batch/topographic_error",
        "som_batch/weights",
        "som_online/quantization_error",
        "som_online/topographic_error",
        "som_online/weights",
        "linear_ae/test_mse",
        "pca/test_mse",
        "plain_ae/final_train_loss",
    ],
)
def test_golden_value(name, committed, fresh):
    assert np.shape(fresh[name]) == np.shape(committed[name])
    assert fresh[name] == pytest.approx(committed[name], rel=RELATIVE, abs=1e-9), name


def test_the_committed_numbers_tell_the_known_story(committed):
    """Sanity of the file itself: the linear autoencoder reached PCA's error on test data, the
    maps fit their data, and the errors are shares or distances."""
    assert committed["linear_ae/test_mse"] == pytest.approx(committed["pca/test_mse"], rel=0.01)
    for name in ("som_batch", "som_online"):
        assert 0 < committed[f"{name}/quantization_error"] < 0.5
        assert 0 <= committed[f"{name}/topographic_error"] <= 1
        assert len(committed[f"{name}/weights"]) == 4 * len(WEIGHT_NODES)
