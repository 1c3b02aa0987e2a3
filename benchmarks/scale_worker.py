"""One rank of benchmarks/scale.py's data-parallel measurements (started by torchrun):
``trainer`` (samples per second of the shared Trainer) or ``som`` (the batch map on many rows).
Rank 0 writes the result as JSON to ``--out``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch.distributed as dist

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from unsup_core.autoencoders import Autoencoder, AutoencoderConfig
from unsup_core.competitive import KohonenMap
from unsup_core.data import PrepareConfig, load_digits_dataset, prepare
from unsup_core.training import Trainer, TrainerConfig
from unsup_core.training.distributed import init_from_environment


def trainer(epochs: int = 20) -> dict:
    """Plain autoencoder 64-128-16 on the digits training split, global batch 256."""
    data = prepare(load_digits_dataset(), PrepareConfig(seed=0))
    model = Autoencoder(AutoencoderConfig(in_features=64, hidden=(128,), code_dim=16))
    dist.barrier()
    started = time.perf_counter()
    Trainer(TrainerConfig(epochs=epochs, batch_size=256, lr=1e-3)).fit(model, {"x": data.train.X})
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "samples_per_second": epochs * len(data.train) / seconds}


def som(rows: int) -> dict:
    """A 20 x 20 float64 batch map, 10 epochs, on ``rows`` x 64 rows (digits and noise)."""
    digits = load_digits_dataset().X / 16.0
    rng = np.random.default_rng(0)
    X = digits[rng.integers(0, len(digits), rows)] + rng.normal(0, 0.05, (rows, 64))
    map_ = KohonenMap(20, 20, epochs=10, dtype="float64", random_state=0)
    dist.barrier()
    started = time.perf_counter()
    map_.fit(X)
    seconds = time.perf_counter() - started
    nodes, features = map_.weights_.shape
    return {
        "seconds": seconds,
        "rows": rows,
        "bytes_per_epoch": (nodes * features + nodes + 1) * 8,  # sums, counts, distance
        "checksum": map_.weights_.ravel()[:50].tolist() + [map_.history_[-1]["quantization_error"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["trainer", "som"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    where = init_from_environment("gloo")
    result = trainer() if args.what == "trainer" else som(args.rows)
    if where.is_main:
        Path(args.out).write_text(json.dumps({**result, "ranks": where.size}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
