"""How far the 64-16-10 student can go with *every* label: the ceiling a distilled student with
10 labels per class is measured against.

Data: digits, stratified 70/30 split (seed 0), min-max scaled on train, as in
``benchmarks/distillation.py``. The peer is scikit-learn's ``MLPClassifier`` with one hidden
layer of 16 units trained to convergence by L-BFGS with an L2 penalty alpha: the activation and
alpha are chosen on a validation split carved from the training part (stratified 30%, seed 0,
mean of 3 initialisations), then the chosen setting is refitted on the whole training part and
scored on test over 5 initialisations. Beside it, the library's student (Adam, cross-entropy on
every label) and the distilled students with 10 labels per class, read from
``benchmarks/results/distillation.json`` (the same split, produced by that benchmark).

Run ``python benchmarks/student_capacity.py`` (``--quick`` for a smoke run); it prints a table
and writes ``benchmarks/results/student_capacity.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import write_results

from unsup_core.data import PrepareConfig, load_digits_dataset, prepare

RESULTS = ROOT / "benchmarks" / "results" / "student_capacity.json"
DISTILLATION = ROOT / "benchmarks" / "results" / "distillation.json"
ACTIVATIONS = ("relu", "tanh", "logistic")
ALPHAS = (1e-4, 1e-2, 1e-1, 1.0, 3.0)
READ_BACK = (
    "all labels: CE alone",
    "10 labels/class, 12k steps: + teacher soft targets",
    "10 labels/class, 3k steps: + CNN teacher soft targets, chosen on validation",
)


def fit_score(X, y, X_eval, y_eval, activation: str, alpha: float, seed: int, iters: int):
    model = MLPClassifier(
        (16,), activation=activation, alpha=alpha, solver="lbfgs", max_iter=iters, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return float(model.fit(X, y).score(X_eval, y_eval))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    iters, seeds = (200, 1) if args.quick else (3000, 5)
    data = prepare(load_digits_dataset(), PrepareConfig(val_fraction=0.0))
    X, y = data.train.X, data.train.y
    fit, val = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=0)
    selection = {}
    with threadpool_limits(1):
        for activation in ACTIVATIONS:
            for alpha in ALPHAS:
                scores = [
                    fit_score(X[fit], y[fit], X[val], y[val], activation, alpha, s, iters)
                    for s in range(min(seeds, 3))
                ]
                selection[f"{activation}, alpha {alpha:g}"] = float(np.mean(scores))
                print(f"validation  {activation:8s} alpha {alpha:<6g} {np.mean(scores):.4f}")
        chosen = max(selection, key=selection.get)
        activation, alpha = chosen.split(", alpha ")
        test = [
            fit_score(X, y, data.test.X, data.test.y, activation, float(alpha), s, iters)
            for s in range(seeds)
        ]
    rows = [
        {
            "case": f"all labels: sklearn MLPClassifier(16) L-BFGS, chosen on validation: {chosen}",
            "mean": float(np.mean(test)),
            "std": float(np.std(test)),
            "seeds": seeds,
        }
    ]
    landed = json.loads(DISTILLATION.read_text())["rows"] if DISTILLATION.exists() else []
    rows += [r for r in landed if any(r["case"].startswith(p) for p in READ_BACK)]
    for row in rows:
        print(f"{row['case'][:110]:110s} {row['mean']:.4f} +- {row['std']:.4f}")
    report = {
        "benchmark": "student_capacity",
        "quick": args.quick,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "threads": 1,
        "seconds": round(time.perf_counter() - started, 1),
        "selection": selection,
        "chosen": chosen,
        "test_per_seed": test,
        "rows": rows,
    }
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
