"""GAN on digits: how good are the samples, judged by a classifier trained on the real data?

Data: digits, stratified 70/30 split (seed 0), min-max scaled to [0, 1] on train (1,257 training
images). The judge: an MLP 64-128-64-10 trained on the training images; the Frechet distance
(FD) is computed in its last hidden layer (64 features) against the training images, the
classifier score is exp(E KL(p(y|x) || p(y))) (max 10), the class histogram counts its argmax
(a missing class is mode collapse). FID and the Inception score with ImageNet networks mean
nothing at 8x8: these are the same formulas with the data's own classifier, so the numbers
compare sample sets judged by this classifier only. Every set has 1,000 samples except the
held-out real images (the 540 test images, the best any model can score).

Rows: the GAN (MLP G 32-128-256-64 with batch norm; MLP D 64-256-128-1, LeakyReLU, dropout 0.5;
non-saturating loss, Adam lr 1e-3, betas (0.5, 0.999), batch 64, one D step per G step, EMA of
G's weights 0.999 with batch-norm statistics recomputed for the average, learning rates decayed
linearly to 0; 500 epochs = 10,000 G steps), its checkpoints (in the JSON), the same networks
trained the textbook way (Adam 2e-4, no batch norm, no dropout, no EMA, same epochs), a VAE
(d = 8, 100 epochs), a Gaussian fitted to the data, training images plus N(0, 0.5^2) noise,
random pixels.
Training time is CPU time of this process (one torch thread) and wall time; other jobs shared
the two cores, so wall time overstates it.

Run ``python benchmarks/generative.py`` (``--quick`` for a smoke run); it prints a table and
writes ``benchmarks/results/generative.json``.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import write_results

from unsup_core.data import PrepareConfig, load_digits_dataset, prepare
from unsup_core.generative import (
    AdversarialTrainer,
    AdversarialTrainerConfig,
    Discriminator,
    DiscriminatorConfig,
    Generator,
    GeneratorConfig,
    QualityJudge,
    SampleSnapshots,
    baseline_qualities,
    fit_vae,
)

RESULTS = ROOT / "benchmarks" / "results" / "generative.json"
GENERATOR = dict(noise_dim=32, hidden=(128, 256), batch_norm=True)
DISCRIMINATOR = dict(hidden=(256, 128), dropout=0.5)
TRAINER = dict(batch_size=64, lr=1e-3, ema_decay=0.999, lr_schedule="linear")
# The same networks without the tricks: DCGAN's Adam(2e-4, 0.5), no batch norm, no dropout, no EMA.
TEXTBOOK = (
    dict(GENERATOR, batch_norm=False),
    dict(DISCRIMINATOR, dropout=0.0),
    dict(batch_size=64, lr=2e-4),
)
TARGETS = {
    "frechet_distance": 1.5,
    "classifier_score": 7.5,
    "min_class_share": 0.03,
    "cpu_seconds": 120.0,
}


def train_gan(
    X,
    judge,
    epochs: int,
    every: int,
    seed: int,
    name: str = "GAN",
    networks: tuple[dict, dict, dict] = (GENERATOR, DISCRIMINATOR, TRAINER),
) -> tuple[dict, list[dict]]:
    g, d, t = networks
    generator = Generator(GeneratorConfig(X.shape[1], seed=seed, **g))
    discriminator = Discriminator(DiscriminatorConfig(X.shape[1], seed=seed, **d))
    snapshots = SampleSnapshots(every, grid=10, judge=judge, n_judged=1000, seed=seed)
    config = AdversarialTrainerConfig(epochs=epochs, seed=seed, **t)
    cpu, wall = time.process_time(), time.perf_counter()
    history = AdversarialTrainer(config, [snapshots]).fit(generator, discriminator, X)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall  # includes the checkpoints
    steps_per_epoch = math.ceil(len(X) / config.batch_size_for(len(X))) // config.d_steps
    checkpoints = [
        {"epoch": epoch, "generator_steps": epoch * steps_per_epoch, **q.metrics()}
        for epoch, q in sorted(snapshots.quality_.items())
    ]
    final = {
        "samples": f"{name} seed {seed}",
        **snapshots.quality_[epochs].metrics(),
        "generator_steps": epochs * steps_per_epoch,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "final_d_real_accuracy": history.epochs[-1].train["d_real_accuracy"],
        "final_d_fake_accuracy": history.epochs[-1].train["d_fake_accuracy"],
    }
    return final, checkpoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--no-textbook", action="store_true", help="skip the untuned GAN")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    epochs, every = (20, 10) if args.quick else (args.epochs, 50)
    data = prepare(load_digits_dataset(), PrepareConfig(val_fraction=0.0))
    X, y = data.train.X, data.train.y
    rows, trajectories = [], {}
    with threadpool_limits(1):
        judge = QualityJudge.fit(X, y, data.n_classes)
        for seed in range(args.seeds):
            final, trajectories[f"seed {seed}"] = train_gan(X, judge, epochs, every, seed)
            rows.append(final)
        if args.seeds > 1:
            keys = [k for k in rows[0] if isinstance(rows[0][k], (int, float)) and "/" not in k]
            rows.append(
                {
                    "samples": f"GAN mean of {args.seeds}",
                    **{k: sum(r[k] for r in rows) / len(rows) for k in keys},
                }
            )
        if not args.no_textbook:
            final, trajectories["textbook seed 0"] = train_gan(
                X, judge, epochs, every, 0, "GAN textbook", TEXTBOOK
            )
            rows.append(final)
        cpu, wall = time.process_time(), time.perf_counter()
        vae = fit_vae(X, code_dim=8, epochs=10 if args.quick else 100)
        vae_seconds = {
            "cpu_seconds": time.process_time() - cpu,
            "wall_seconds": time.perf_counter() - wall,
        }
        for name, quality in baseline_qualities(judge, X, data.test.X, 1000, 0.5, 0, vae).items():
            rows.append(
                {"samples": name, **quality.metrics(), **(vae_seconds if name == "vae" else {})}
            )
    header = (
        f"{'samples':21s} {'FD':>8s} {'score':>6s} {'classes':>7s} {'min share':>9s} "
        f"{'confidence':>10s} {'G steps':>8s} {'cpu s':>7s} {'wall s':>7s}"
    )
    print(f"judge test accuracy {judge.accuracy(data.test.X, data.test.y):.4f}")
    print(header)
    for row in rows:
        print(
            f"{row['samples']:21s} {row['frechet_distance']:8.3f} {row['classifier_score']:6.2f} "
            f"{int(row['n_classes_present']):7d} {row['min_class_share']:9.3f} "
            f"{row['mean_confidence']:10.3f} {int(row.get('generator_steps', 0)):8d} "
            f"{row.get('cpu_seconds', float('nan')):7.1f} "
            f"{row.get('wall_seconds', float('nan')):7.1f}"
        )
    gans = [row for row in rows if row["samples"].startswith("GAN seed")]
    met = {
        row["samples"]: {
            "frechet_distance": row["frechet_distance"] <= TARGETS["frechet_distance"],
            "classifier_score": row["classifier_score"] >= TARGETS["classifier_score"],
            "all_classes": row["n_classes_present"] == data.n_classes
            and row["min_class_share"] >= TARGETS["min_class_share"],
            "cpu_seconds": row["cpu_seconds"] <= TARGETS["cpu_seconds"],
        }
        for row in gans
    }
    for name, checks in met.items():
        print(
            f"{name}: targets "
            + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in checks.items())
        )
    report = {
        "benchmark": "generative",
        "quick": args.quick,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": 1,
        "judge_test_accuracy": judge.accuracy(data.test.X, data.test.y),
        "config": {
            "generator": GENERATOR,
            "discriminator": DISCRIMINATOR,
            "trainer": TRAINER,
            "epochs": epochs,
            "textbook": TEXTBOOK,
        },
        "targets": TARGETS,
        "targets_met": met,
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
        "checkpoints": trajectories,
    }
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
