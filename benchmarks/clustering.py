"""Benchmark of competitive learning (:mod:`unsup_core.competitive.wta`) on the digits data.

scikit-learn's digits (1,797 x 64) scaled to [0, 1] (X / 16), k = 10, one thread. Each method is
fitted with seeds 0..4 (2 with ``--quick``), interleaved seed by seed with the reference
``KMeans(n_clusters=10, init="k-means++", n_init=10, random_state=seed)`` so machine load falls
on all alike; every figure is the median over the seeds.

- ``us_per_update``: wall clock of the whole ``fit`` (initialisation and final inertia
  included) divided by the updates done, ``n_iter_``; target <= 10 for online WTA.
- ``inertia_ratio_to_kmeans``: median inertia / median KMeans inertia; targets <= 1.03 (WTA from
  random samples), <= 1.015 (WTA from k-means++), <= 1.005 (soft competition).
- ``ema_rel_error``: |running Q at the end - true mean squared distance| / true; target <= 0.03.
- ``ari``: adjusted Rand index of the clusters against the digit labels (no target).

Run ``python benchmarks/clustering.py`` (``--quick`` for a smoke test) from the repository root;
it prints a table and writes ``benchmarks/results/clustering.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, installed or not
    sys.path.insert(0, str(ROOT))

from common import write_results
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score

from unsup_core.competitive.wta import OnlineKMeans, SoftCompetitiveLearning

RESULTS = ROOT / "benchmarks" / "results" / "clustering.json"
K = 10

HIDDEN = ("n_clusters", "random_state")

# method, estimator for a seed, targets (metric -> upper bound)
CASES: list[tuple[str, Callable[[int], object], dict[str, float]]] = [
    (
        "online WTA",
        lambda s: OnlineKMeans(K, init="random", random_state=s),
        {"us_per_update": 10.0, "inertia_ratio_to_kmeans": 1.03, "ema_rel_error": 0.03},
    ),
    (
        "online WTA",
        lambda s: OnlineKMeans(K, init="k-means++", random_state=s),
        {"us_per_update": 10.0, "inertia_ratio_to_kmeans": 1.015, "ema_rel_error": 0.03},
    ),
    (
        "soft competition",
        lambda s: SoftCompetitiveLearning(
            K, kernel="gaussian", width_start=0.25, width_end=0.01, random_state=s
        ),
        {"inertia_ratio_to_kmeans": 1.005},
    ),
    (
        "soft competition",
        lambda s: SoftCompetitiveLearning(
            K, kernel="exponential", width_start=0.1, width_end=0.004, random_state=s
        ),
        {"inertia_ratio_to_kmeans": 1.005},
    ),
]


def timed_fit(estimator: object, X: np.ndarray) -> tuple[object, float]:
    tic = time.perf_counter()
    estimator.fit(X)
    return estimator, time.perf_counter() - tic


def run(quick: bool = False) -> list[dict]:
    """Fit every case and the KMeans reference on seeds 0..4 (0..1 if ``quick``); one record
    each."""
    data = load_digits()
    X, y = data.data / 16.0, data.target
    seeds = range(2 if quick else 5)
    fits: dict[int, list[tuple[object, float]]] = {i: [] for i in range(-1, len(CASES))}
    with threadpool_limits(1):
        torch.set_num_threads(1)
        for seed in seeds:
            fits[-1].append(timed_fit(KMeans(K, init="k-means++", n_init=10, random_state=seed), X))
            for i, (_, make, _) in enumerate(CASES):
                fits[i].append(timed_fit(make(seed), X))
    reference = statistics.median(m.inertia_ for m, _ in fits[-1])
    records = [
        {
            "method": "sklearn KMeans",
            "config": {"init": "k-means++", "n_init": 10},
            "time_median_s": round(statistics.median(t for _, t in fits[-1]), 4),
            "inertia": round(reference, 2),
            "inertia_ratio_to_kmeans": 1.0,
            "ari": round(
                statistics.median(adjusted_rand_score(y, m.labels_) for m, _ in fits[-1]), 4
            ),
            "target": {},
            "meets_target": True,
        }
    ]
    for i, (method, make, target) in enumerate(CASES):
        models = [m for m, _ in fits[i]]
        config = {k: v for k, v in make(0).get_params().items() if k not in HIDDEN}
        inertia = statistics.median(m.inertia_ for m in models)
        record = {
            "method": method,
            "config": config,
            "time_median_s": round(statistics.median(t for _, t in fits[i]), 4),
            "us_per_update": round(statistics.median(t / m.n_iter_ * 1e6 for m, t in fits[i]), 2),
            "inertia": round(inertia, 2),
            "inertia_ratio_to_kmeans": round(inertia / reference, 4),
            "ari": round(statistics.median(adjusted_rand_score(y, m.labels_) for m in models), 4),
            "ema_rel_error": round(
                statistics.median(
                    abs(m.q_history_[-1] - m.inertia_ / len(X)) / (m.inertia_ / len(X))
                    for m in models
                ),
                4,
            ),
            "dead_units": max(m.dead_units_ for m in models),
            "target": target,
        }
        record["meets_target"] = all(record[k] <= bound for k, bound in target.items())
        records.append(record)
    return records


def table(records: list[dict]) -> str:
    head = (
        f"{'method':<17} {'config':<36} {'time s':>7} {'us/upd':>7} {'inertia':>9} "
        f"{'ratio':>7} {'ARI':>6} {'EMA err':>8}  target"
    )
    lines = [head, "-" * len(head)]
    for r in records:
        config = ", ".join(f"{k}={v}" for k, v in r["config"].items() if k in ("init", "kernel"))
        short = {
            "us_per_update": "us/upd",
            "inertia_ratio_to_kmeans": "ratio",
            "ema_rel_error": "EMA err",
        }
        target = ", ".join(f"{short[k]} <= {v:g}" for k, v in r["target"].items()) or "reference"
        mark = "" if not r["target"] else (" MET" if r["meets_target"] else " MISSED")
        lines.append(
            f"{r['method']:<17} {config:<36} {r['time_median_s']:>7.3f} "
            f"{r.get('us_per_update', float('nan')):>7.2f} {r['inertia']:>9.1f} "
            f"{r['inertia_ratio_to_kmeans']:>7.4f} {r['ari']:>6.3f} "
            f"{r.get('ema_rel_error', float('nan')):>8.4f}  {target}{mark}"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse ``--quick``, run on one thread, print the table and save the records."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds instead of 5")
    args = parser.parse_args()
    load_before, tic = os.getloadavg()[0], time.perf_counter()
    records = run(args.quick)
    seconds, load_after = time.perf_counter() - tic, os.getloadavg()[0]
    print(table(records))
    print(
        f"(medians over {2 if args.quick else 5} seeds; {seconds:.1f} s in all; "
        f"1-min load average {load_before:.2f} -> {load_after:.2f})"
    )
    report = {
        "benchmark": "clustering",
        "quick": args.quick,
        "data": "digits / 16, k = 10",
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": 1,
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "seconds": round(seconds, 1),
        "records": records,
    }
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
