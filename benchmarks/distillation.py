"""Teacher, then student: what distillation and privileged information buy on digits.

Data: digits, stratified 70/30 split (seed 0), min-max scaled on train. Teacher 64-256-256-10
on all labels. Students 64-16-10, mean over seeds:
- 10 labels per class alone vs the same labels plus the teacher's soft targets (T = 4,
  alpha = 0.5) on every training image, on a long (12k steps) and a short (3k) schedule;
- all labels: cross-entropy alone vs distillation on the same schedule (distillation must not
  be worse);
- size and inference time per 1,000 objects, teacher over student;
- privileged information: 20 labels per class, x = the 4x4 average-pooled image (16 features),
  x* = the full image seen only by the teacher (trained on the same labels): the student alone vs
  generalized distillation (T = 2, mu = 10, imitation on every training image).

Run ``python benchmarks/distillation.py`` (``--quick`` for a smoke run); it prints a table and
writes ``benchmarks/results/distillation.json``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from unsup_core.autoencoders import apply_array  # noqa: E402
from unsup_core.data import PrepareConfig, load_digits_dataset, prepare  # noqa: E402
from unsup_core.distillation import (DistillationConfig, DistillationStudent,  # noqa: E402
                                     GeneralizedDistillationStudent, MLPClassifier,
                                     MLPClassifierConfig, degrade, distillation_data,
                                     inference_seconds_per_1000, parameter_count, privileged_data)
from unsup_core.training import Trainer, TrainerConfig  # noqa: E402

from common import write_results  # noqa: E402  (benchmarks/common.py)

RESULTS = ROOT / "benchmarks" / "results" / "distillation.json"
STUDENT = TrainerConfig(batch_size=32, lr=3e-3)


def mlp(in_features: int, hidden: tuple[int, ...], seed: int) -> MLPClassifier:
    return MLPClassifier(MLPClassifierConfig(in_features=in_features, hidden=hidden, n_classes=10,
                                             seed=seed))


def accuracy(model, X, y) -> float:
    return float(np.mean(apply_array(model, X, "predict") == y))


def train(model, data: dict, steps: int, seed: int) -> None:
    n = len(next(iter(data.values())))
    Trainer(TrainerConfig(batch_size=32, lr=3e-3, seed=seed).for_steps(steps, n)).fit(model, data)


def students(data, teacher, seed: int, long: int, short: int) -> dict[str, float]:
    X, y, X_test, y_test = data.train.X, data.train.y, data.test.X, data.test.y
    labelled = data.few_labels(10, seed)
    out = {}
    for name, steps in (("12k", long), ("3k", short)):
        alone = mlp(64, (16,), seed)
        train(alone, {"x": X[labelled], "y": y[labelled]}, steps, seed)
        student = mlp(64, (16,), seed)
        train(DistillationStudent(student, DistillationConfig(4.0, 0.5)),
              distillation_data(teacher, X, y, labelled), steps, seed)
        out[f"10 labels/class, {name} steps: CE alone"] = accuracy(alone, X_test, y_test)
        out[f"10 labels/class, {name} steps: + teacher soft targets"] = accuracy(student, X_test, y_test)
    alone = mlp(64, (16,), seed)
    train(alone, {"x": X, "y": y}, long, seed)
    student = mlp(64, (16,), seed)
    train(DistillationStudent(student, DistillationConfig(4.0, 0.5)), distillation_data(teacher, X, y),
          long, seed)
    out["all labels: CE alone"] = accuracy(alone, X_test, y_test)
    out["all labels: + teacher soft targets"] = accuracy(student, X_test, y_test)
    return out


def privileged(data, seed: int, steps: int) -> dict[str, float]:
    x, x_test = degrade(data.train.X, (8, 8)), degrade(data.test.X, (8, 8))
    labelled = data.few_labels(20, seed)
    y = data.train.y
    alone = mlp(16, (32,), seed)
    train(alone, {"x": x[labelled], "y": y[labelled]}, steps, seed)
    out = {"LUPI 20 labels/class, x = 4x4 pooled: student alone": accuracy(alone, x_test, data.test.y)}
    for name, rows in (("same 20 labels/class", labelled), ("all labels", np.arange(len(y)))):
        teacher = mlp(64, (64,), seed)
        train(teacher, {"x": data.train.X[rows], "y": y[rows]}, steps, seed)
        student = mlp(16, (32,), seed)
        train(GeneralizedDistillationStudent(student, 2.0, 10.0),
              privileged_data(teacher, x, data.train.X, y, labelled), steps, seed)
        out[f"LUPI: + generalized distillation, teacher on x* with {name}"] = accuracy(
            student, x_test, data.test.y)
        out[f"LUPI: teacher on x* with {name}"] = accuracy(teacher, data.test.X, data.test.y)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    seeds = 1 if args.quick else 5
    long, short = (600, 200) if args.quick else (12000, 3000)
    data = prepare(load_digits_dataset(), PrepareConfig(val_fraction=0.0))
    with threadpool_limits(1):
        teacher = mlp(64, (256, 256), 0)
        Trainer(TrainerConfig(epochs=5 if args.quick else 60, batch_size=32, lr=1e-3)).fit(
            teacher, data.train.tensors())
        per_seed = [{**students(data, teacher, seed, long, short),
                     **privileged(data, seed, short)} for seed in range(seeds)]
        small = mlp(64, (16,), 0)
        sizes = {"teacher test accuracy (all labels)": accuracy(teacher, data.test.X, data.test.y),
                 "teacher / student parameters": parameter_count(teacher) / parameter_count(small),
                 "teacher / student inference time per 1000":
                     inference_seconds_per_1000(teacher, data.test.X)
                     / inference_seconds_per_1000(small, data.test.X)}
    rows = [{"case": case, "mean": float(np.mean([r[case] for r in per_seed])),
             "std": float(np.std([r[case] for r in per_seed])), "seeds": seeds} for case in per_seed[0]]
    rows += [{"case": case, "mean": float(value), "std": 0.0, "seeds": 1} for case, value in sizes.items()]
    for row in rows:
        print(f"{row['case']:62s} {row['mean']:9.4f} +- {row['std']:.4f}")
    report = {"benchmark": "distillation", "quick": args.quick, "torch": torch.__version__,
              "python": platform.python_version(), "threads": 1,
              "seconds": round(time.perf_counter() - started, 1), "rows": rows}
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
