"""Benchmark of the shared :class:`~unsup_core.training.Trainer` on the digits data (CPU).

Two questions, each answered by epoch throughput (training samples per second, wall clock of
the whole ``fit`` call divided into ``epochs * n_train`` samples):

1. Overhead. ``Trainer.fit`` versus a minimal hand-written PyTorch loop (shuffled indices per
   epoch, a gathered minibatch, ``model.loss(batch)["loss"].backward()``, an Adam step) training
   the same plain autoencoder on the same data, both on one thread.
   ``ratio = trainer / hand loop``: 1.0 means the trainer's bookkeeping (NaN guard, per-term
   averages, seeding, thread scoping) costs nothing; the target is ``ratio >= 0.9``.
2. Threads. The trainer with ``num_threads=1`` versus ``num_threads=2``, for the default-sized
   model (hidden=(128,), batch 64) and a wider one (hidden=(512, 256), batch 256).
   ``ratio = 1 thread / 2 threads``: above 1.0 one thread is faster, which is why
   ``TrainerConfig.num_threads`` defaults to 1; below 1.0 the second thread pays off.

Each figure is the median over repetitions; every repetition builds a fresh model (same seed),
and the two contenders alternate (ours, peer, ours, peer, ...) after one untimed warm-up each, so
machine load falls on both alike. Ratios near 1.0 within a few percent are noise. The
2-thread runs suffer far more than 1-thread runs when another process holds a core (each
parallel op waits for its slowest thread), so read the thread rows together with the load
average saved beside them; on a busy 2-core machine they swing by several times.

Run ``python benchmarks/trainer.py`` (``--quick`` for a smoke test) from the repository root; it
prints a table and writes ``benchmarks/results/trainer.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, installed or not
    sys.path.insert(0, str(ROOT))

from common import write_results

from unsup_core.autoencoders import Autoencoder, AutoencoderConfig
from unsup_core.data import PrepareConfig, load_digits_dataset, prepare
from unsup_core.training import Trainer, TrainerConfig, seeded, torch_threads

RESULTS = ROOT / "benchmarks" / "results" / "trainer.json"
LR = 1e-3
SEED = 0


@dataclass(frozen=True)
class Record:
    """One table row: ``ours`` and ``peer`` medians of ``metric`` and their ratio."""

    case: str
    metric: str
    ours: float
    peer: float
    ratio: float
    unit: str
    repetitions: int


def fit_trainer(
    model_config: AutoencoderConfig, X: np.ndarray, epochs: int, batch_size: int, threads: int
) -> float:
    """Seconds taken by ``Trainer.fit`` on a fresh model (construction not timed)."""
    model = Autoencoder(model_config)
    config = TrainerConfig(
        epochs=epochs, batch_size=batch_size, lr=LR, num_threads=threads, seed=SEED
    )
    tic = time.perf_counter()
    Trainer(config).fit(model, {"x": X})
    return time.perf_counter() - tic


def fit_by_hand(
    model_config: AutoencoderConfig, X: np.ndarray, epochs: int, batch_size: int, threads: int
) -> float:
    """Seconds taken by a minimal PyTorch loop on a fresh model (construction not timed).

    Shuffles with its own ``torch.Generator``; global generators are forked and restored.
    """
    model = Autoencoder(model_config)
    with torch_threads(threads), seeded(SEED):
        tic = time.perf_counter()
        x = torch.as_tensor(X, dtype=torch.float32)
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        generator = torch.Generator().manual_seed(SEED)
        n = x.shape[0]
        model.train()
        for _ in range(epochs):
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, batch_size):
                batch = {"x": x[order[start : start + batch_size]]}
                optimizer.zero_grad(set_to_none=True)
                model.loss(batch)["loss"].backward()
                optimizer.step()
        return time.perf_counter() - tic


def interleaved(
    ours: Callable[[], float], peer: Callable[[], float], repetitions: int
) -> tuple[list[float], list[float]]:
    """Seconds of ``ours`` and ``peer`` over ``repetitions`` alternating runs, after one untimed
    warm-up of each."""
    ours(), peer()
    ours_s, peer_s = [], []
    for _ in range(repetitions):
        ours_s.append(ours())
        peer_s.append(peer())
    return ours_s, peer_s


def compare(
    case: str, ours: Callable[[], float], peer: Callable[[], float], samples: int, repetitions: int
) -> Record:
    """Median throughput (``samples`` per run / seconds) of ``ours`` and ``peer`` and its ratio."""
    ours_s, peer_s = interleaved(ours, peer, repetitions)
    ours_rate = samples / statistics.median(ours_s)
    peer_rate = samples / statistics.median(peer_s)
    return Record(
        case,
        "epoch throughput",
        round(ours_rate),
        round(peer_rate),
        round(ours_rate / peer_rate, 3),
        "samples/s",
        repetitions,
    )


def run(quick: bool) -> list[Record]:
    """Every case of the module docstring, ``quick`` with fewer epochs and repetitions."""
    repetitions, epochs = (2, 2) if quick else (5, 10)
    X = prepare(load_digits_dataset(), PrepareConfig()).train.X
    samples = epochs * X.shape[0]
    small = AutoencoderConfig(in_features=X.shape[1], hidden=(128,), code_dim=16)
    wide = AutoencoderConfig(in_features=X.shape[1], hidden=(512, 256), code_dim=16)
    return [
        compare(
            "overhead: Trainer / hand loop, h=(128,) b=64",
            lambda: fit_trainer(small, X, epochs, 64, threads=1),
            lambda: fit_by_hand(small, X, epochs, 64, threads=1),
            samples,
            repetitions,
        ),
        compare(
            "threads: 1 / 2, h=(128,) b=64",
            lambda: fit_trainer(small, X, epochs, 64, threads=1),
            lambda: fit_trainer(small, X, epochs, 64, threads=2),
            samples,
            repetitions,
        ),
        compare(
            "threads: 1 / 2, h=(512,256) b=256",
            lambda: fit_trainer(wide, X, epochs, 256, threads=1),
            lambda: fit_trainer(wide, X, epochs, 256, threads=2),
            samples,
            repetitions,
        ),
    ]


def table(records: list[Record]) -> str:
    """Plain-text table of ``records``."""
    width = max(len(r.case) for r in records)
    lines = [f"{'case':<{width}}  {'ours':>9}  {'peer':>9}  {'ratio':>6}  unit", "-" * (width + 40)]
    lines += [
        f"{r.case:<{width}}  {r.ours:>9,.0f}  {r.peer:>9,.0f}  {r.ratio:>6.3f}  {r.unit}"
        for r in records
    ]
    return "\n".join(lines)


def main() -> None:
    """Parse ``--quick``, pin the process to one thread, run, print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs x 2 reps (smoke test)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # every case also sets its own count for its duration
    load_before, tic = os.getloadavg()[0], time.perf_counter()
    records = run(args.quick)
    seconds, load_after = time.perf_counter() - tic, os.getloadavg()[0]
    print(table(records))
    print(
        f"(medians of {records[0].repetitions} repetitions; {seconds:.1f} s in all; "
        f"1-min load average {load_before:.2f} before, {load_after:.2f} after)"
    )
    report = {
        "benchmark": "trainer",
        "quick": args.quick,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "process_threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "seconds": round(seconds, 1),
        "records": [asdict(r) for r in records],
    }
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
