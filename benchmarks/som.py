"""Kohonen maps and competitive learning against MiniSom (and scikit-learn KMeans), side by side.

Setting (the issue's): scikit-learn digits scaled to [0, 1] (X / 16), one thread for torch and
BLAS, sigma0 = side / 2 decaying linearly to 1, learning rate 0.5 decaying linearly to 0,
10 epochs (MiniSom ``train_random`` with 10 * n_samples updates), PCA initialisation for both.
Times are medians over repetitions that alternate between the contenders.

Rows and what their ratio means:
- ``batch 20x20`` / ``batch 10x10``: our batch map's whole ``fit`` time over MiniSom's
  ``train_random`` time (targets <= 0.025 and <= 0.015), with QE, TE (8- and 4-neighbour) and
  label purity of both maps;
- ``online 20x20``: our online rule's time per update over MiniSom's (target <= 0.6), and the
  largest weight difference from MiniSom with the same start and sample order (float64);
- ``scale``: 100,000 x 64 samples (digits plus noise), batch map, 10 epochs: seconds vs target;
- ``maps 40x40``: U-matrix and hit map (including the best-matching-node search for the
  digits) against MiniSom's ``distance_map`` and ``activation_response``;
- clustering rows come from ``benchmarks/clustering.py`` (online WTA, soft WTM vs KMeans).

Run ``python benchmarks/som.py`` (``--quick`` for a smoke run) from the repository root; it prints
a table and writes ``benchmarks/results/som.json``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import write_results

from unsup_core.competitive import Grid, KohonenMap, hit_map, node_purity, u_matrix

RESULTS = ROOT / "benchmarks" / "results" / "som.json"


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def minisom_map(side: int, X: np.ndarray, seed: int):
    from minisom import MiniSom

    som = MiniSom(
        side,
        side,
        X.shape[1],
        sigma=side / 2,
        learning_rate=0.5,
        decay_function="linear_decay_to_zero",
        sigma_decay_function="linear_decay_to_one",
        random_seed=seed,
    )
    som.pca_weights_init(X)
    return som


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def quality(weights: np.ndarray, side: int, X: np.ndarray, y: np.ndarray) -> dict:
    som = KohonenMap(side, side)
    som.weights_, som.grid_, som.n_features_in_ = (
        weights.astype(np.float64),
        Grid(side, side),
        X.shape[1],
    )
    winners = som.predict(X)
    return {
        "qe": round(som.quantization_error(X), 4),
        "te8": round(som.topographic_error(X, 8), 4),
        "te4": round(som.topographic_error(X, 4), 4),
        "purity": round(node_purity(winners, y, side * side, 10), 4),
    }


def batch_rows(X, y, repetitions: int) -> list[dict]:
    rows = []
    for side, target in ((20, 0.025), (10, 0.015)):
        ours_t, peer_t = [], []
        for rep in range(repetitions):
            ours = KohonenMap(
                side, side, init="pca", epochs=10, sigma_start=side / 2, random_state=rep
            )
            ours_t.append(timed(lambda: ours.fit(X)))
            peer = minisom_map(side, X, rep)
            peer_t.append(timed(lambda: peer.train_random(X, 10 * len(X))))
        ratio = statistics.median(ours_t) / statistics.median(peer_t)
        rows.append(
            {
                "method": "batch SOM",
                "config": f"{side}x{side}, 10 epochs",
                "ours_s": statistics.median(ours_t),
                "peer": "MiniSom train_random",
                "peer_s": statistics.median(peer_t),
                "ratio": ratio,
                "target_ratio": target,
                "ours": quality(ours.weights_, side, X, y),
                "minisom": quality(peer.get_weights().reshape(-1, X.shape[1]), side, X, y),
            }
        )
    return rows


def online_row(X, y, repetitions: int) -> dict:
    side, steps = 20, 10 * len(X)
    ours_t, peer_t = [], []
    for rep in range(repetitions):
        peer = minisom_map(side, X, rep)
        start = peer.get_weights().reshape(-1, X.shape[1]).copy()
        state = np.random.RandomState(rep)  # MiniSom's order: after its own random init draw
        state.rand(side, side, X.shape[1])
        order = np.arange(steps) % len(X)
        state.shuffle(order)
        ours = KohonenMap(
            side, side, algorithm="online", init=start, sigma_start=side / 2, dtype="float64"
        )
        ours_t.append(timed(lambda: ours.fit(X, sample_order=order)))
        peer_t.append(timed(lambda: peer.train_random(X, steps)))
    gap = float(np.abs(ours.weights_grid - peer.get_weights()).max())
    per_update = statistics.median(ours_t) / steps, statistics.median(peer_t) / steps
    return {
        "method": "online SOM",
        "config": f"{side}x{side}, {steps} updates, float64",
        "ours_us_per_update": per_update[0] * 1e6,
        "peer": "MiniSom train_random",
        "peer_us_per_update": per_update[1] * 1e6,
        "ratio": per_update[0] / per_update[1],
        "target_ratio": 0.6,
        "max_weight_difference": gap,
        "ours": quality(ours.weights_, side, X, y),
    }


def scale_rows(X, repetitions: int, n: int) -> list[dict]:
    rng = np.random.default_rng(0)
    big = (X[rng.integers(0, len(X), n)] + rng.normal(0, 0.05, (n, X.shape[1]))).astype(np.float32)
    rows = []
    for side, target in ((20, 3.0), (40, 9.0)):
        times = [
            timed(lambda: KohonenMap(side, side, epochs=10, random_state=r).fit(big))
            for r in range(repetitions)
        ]
        rows.append(
            {
                "method": "batch SOM scale",
                "config": f"{n} x {X.shape[1]}, {side}x{side}, 10 epochs",
                "ours_s": statistics.median(times),
                "target_s": target,
                "meets_target": statistics.median(times) <= target,
            }
        )
    return rows


def map_rows(X, repetitions: int) -> list[dict]:
    side = 40
    ours = KohonenMap(side, side, epochs=3, random_state=0).fit(X)
    peer = minisom_map(side, X, 0)
    peer._weights = ours.weights_grid.astype(np.float64).copy()
    cases = [
        ("U-matrix", lambda: u_matrix(ours.weights_, ours.grid_), peer.distance_map, 0.002),
        (
            "hit map (with best-node search)",
            lambda: hit_map(ours.predict(X), ours.grid_),
            lambda: peer.activation_response(X),
            0.005,
        ),
    ]
    rows = []
    for name, mine, theirs, target in cases:
        inner = 20
        mine()
        ours_t = statistics.median(
            timed(lambda: [mine() for _ in range(inner)]) / inner for _ in range(repetitions)
        )
        peer_t = statistics.median(timed(theirs) for _ in range(max(1, repetitions // 2)))
        rows.append(
            {
                "method": f"map: {name}",
                "config": f"{side}x{side}, digits",
                "ours_s": ours_t,
                "peer": "MiniSom",
                "peer_s": peer_t,
                "ratio": ours_t / peer_t,
                "target_s": target,
                "meets_target": ours_t <= target,
            }
        )
    return rows


def print_table(records: list[dict]) -> None:
    print(f"{'method':34s} {'config':34s} {'ours':>12s} {'peer':>12s} {'ratio':>7s}  notes")
    print("-" * 120)
    for r in records:
        if "ours_us_per_update" in r:
            ours, peer = f"{r['ours_us_per_update']:.1f} us", f"{r['peer_us_per_update']:.1f} us"
        elif "ours_s" in r:
            ours = f"{r['ours_s'] * 1000:.1f} ms"
            peer = f"{r['peer_s'] * 1000:.1f} ms" if "peer_s" in r else "-"
        else:
            ours = f"{r.get('time_median_s', 0) * 1000:.1f} ms"
            peer = "-"
        ratio = f"{r['ratio']:.4f}" if "ratio" in r else "-"
        notes = {
            k: v
            for k, v in r.items()
            if k
            in (
                "ours",
                "minisom",
                "target_ratio",
                "target_s",
                "meets_target",
                "max_weight_difference",
                "inertia_ratio_to_kmeans",
                "ari",
                "ema_rel_error",
                "us_per_update",
                "target",
            )
        }
        config = r["config"]
        if isinstance(config, dict):
            config = ", ".join(
                f"{k}={config[k]}" for k in ("init", "kernel", "n_init") if k in config
            )
        print(f"{r['method']:34s} {config[:34]:34s} {ours:>12s} {peer:>12s} {ratio:>7s}  {notes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller scale run")
    args = parser.parse_args()
    repetitions = 2 if args.quick else 5
    torch.set_num_threads(1)
    X, y = digits()
    started = time.perf_counter()
    with threadpool_limits(1):
        records = batch_rows(X, y, repetitions)
        records.append(online_row(X, y, 1 if args.quick else 3))
        records += scale_rows(X, 1 if args.quick else 3, 10_000 if args.quick else 100_000)
        records += map_rows(X, repetitions)
    try:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from clustering import run as clustering_run

        records += clustering_run(quick=args.quick)
    except ImportError as error:  # pragma: no cover - the clustering benchmark is optional here
        print(f"(clustering rows skipped: {error})")
    print_table(records)
    report = {
        "benchmark": "som",
        "quick": args.quick,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": 1,
        "seconds": round(time.perf_counter() - started, 1),
        "records": records,
    }
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
