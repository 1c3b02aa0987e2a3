"""Run under ``torchrun --nproc_per_node=N``: train the same small models as
``test_distributed.py`` trains in one process, data parallel over N ranks, and let rank 0 write
the results to ``--out`` (an .npz) for the test to compare.

The same functions, called without a process group, give the single-process reference.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from unsup_core.autoencoders import Autoencoder, AutoencoderConfig
from unsup_core.competitive import KohonenMap
from unsup_core.training import Trainer, TrainerConfig
from unsup_core.training.distributed import init_from_environment


def data(n: int = 203, d: int = 12, seed: int = 0) -> np.ndarray:
    """Seeded toy data in [0, 1]; 203 rows so that batches of 32 end with an uneven one."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, size=(n, d))


def train_autoencoder(batch_size: int = 32) -> dict[str, np.ndarray]:
    """A plain autoencoder, 4 epochs of batches of ``batch_size`` (the global batch)."""
    torch.manual_seed(0)
    model = Autoencoder(AutoencoderConfig(in_features=12, hidden=(16,), code_dim=3, seed=1))
    history = Trainer(TrainerConfig(epochs=4, batch_size=batch_size, lr=1e-2, seed=2)).fit(
        model, {"x": data().astype(np.float32)}
    )
    weights = {f"ae/{k}": v.detach().numpy() for k, v in model.state_dict().items()}
    return {**weights, "ae/train_loss": np.array(history.series("train/loss"))}


def fit_map() -> dict[str, np.ndarray]:
    """A float64 batch map of 6 x 5 nodes, 5 epochs."""
    som = KohonenMap(6, 5, epochs=5, dtype="float64", random_state=0).fit(data(1000, 12, 3))
    errors = np.array([record["quantization_error"] for record in som.history_])
    return {"som/weights": som.weights_, "som/quantization_error": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    where = init_from_environment("gloo")
    results = {**train_autoencoder(), **fit_map()}
    if where.is_main:
        np.savez(args.out, world_size=where.size, **results)


if __name__ == "__main__":
    main()
