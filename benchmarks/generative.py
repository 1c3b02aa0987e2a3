"""GAN on digits: how good are the samples, judged by a classifier trained on the real data?

Data: digits, stratified 70/30 split (seed 0), min-max scaled to [0, 1] on train (1,257 training
images). The judge: an MLP 64-128-64-10 trained on the training images; the Frechet distance
(FD) is computed in its last hidden layer (64 features) against the training images, the
classifier score is exp(E KL(p(y|x) || p(y))) (max 10), the class histogram counts its argmax
(a missing class is mode collapse). FID and the Inception score with ImageNet networks mean
nothing at 8x8: these are the same formulas with the data's own classifier, so the numbers
compare sample sets judged by this classifier only. Every set has 1,000 samples except the
held-out real images (the 540 test images, the best any model can score).

Rows: the MLP GAN (MLP G 32-128-256-64 with batch norm; MLP D 64-256-128-1, LeakyReLU, dropout
0.5; non-saturating loss, Adam lr 1e-3, betas (0.5, 0.999), batch 64, one D step per G step, EMA
of G's weights 0.999 with batch-norm statistics recomputed for the average, learning rates
decayed linearly to 0; 500 epochs = 10,000 G steps), its checkpoints (in the JSON); the conv GAN
beside it, same seeds, same trainer (G: z -> 128 -> 64 maps of 4x4 -> one stride-2 transposed
convolution to 8x8, batch norm throughout; D: two stride-2 convolutions with 32 and 64 channels,
LeakyReLU, dropout 0.5; 280 epochs = 5,600 G steps, the average's batch norm recalibrated only
when it is judged, every 50 epochs) and the conv / MLP ratios of FD and CPU time; the MLP
networks trained the textbook way (Adam 2e-4, no batch norm, no dropout, no EMA, same epochs), a
VAE (d = 8, 100 epochs), a Gaussian fitted to the data, training images plus N(0, 0.5^2) noise,
random pixels.

How the conv configuration was chosen: by the judge's FD at the end of training on seed 0 (the
last candidates also on seed 1), the same quantity, against the same training images, that
the rows report; seed 2 was never looked at before the landed run. There is no held-out
selection here: a generative model is judged against the data it learns. Every candidate's
numbers are in ``CONV_SELECTION`` (and the JSON). The existing layout (z -> 2x2 maps -> two
transposed convolutions) was too slow to converge and its batch-norm recalibration alone
cost ~0.4 s an epoch; projecting to 4x4 with a dense layer first converged fastest. 300 epochs
gave FD 0.71 but 144 CPU s; 200 epochs 0.83 / 0.81 in 93-99 s; batch 128, lr 2e-3 and EMA
0.998 were no better. Recalibrating the average's batch norm only when it is judged (a fifth
of the CPU time) bought the epochs for 280: FD 0.71 / 0.71 on seeds 0 / 1 in 107 / 111 CPU s,
close to the 120 s target when other jobs share the cores.
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
# The conv GAN (image_shape comes from the data): z -> 128 -> 64 maps of 4x4 -> one transposed
# convolution to 8x8, batch norm throughout; D two stride-2 convolutions 32 and 64 channels,
# LeakyReLU, dropout 0.5; the MLP GAN's trainer, recalibrated every 50 epochs. Chosen as the
# docstring says.
CONV_GENERATOR = dict(kind="conv", noise_dim=32, hidden=(128, 64), upsamplings=1, batch_norm=True)
CONV_DISCRIMINATOR = dict(kind="conv", hidden=(32, 64), dropout=0.5)
CONV_TRAINER = dict(TRAINER, recalibrate_every=50)
CONV_EPOCHS = 280
CONV_TARGETS = {"frechet_distance": 0.8, "min_class_share": 0.03, "cpu_seconds": 120.0}
# Every candidate tried on the way to the conv configuration: FD, smallest class share, CPU s at
# the end of training (seed 0 unless said); the judge's FD against the training images.
CONV_SELECTION = [
    {
        "candidate": "library layout before: z -> 128 maps 2x2 -> 64 4x4 -> 8x8; D (64, 128), "
        "dropout 0.3; 100 epochs (recalibrating through the whole network)",
        "frechet_distance": 4.832,
        "min_class_share": 0.072,
        "cpu_seconds": 113.9,
    },
    {
        "candidate": "same layout, G (64, 32) without batch norm; D (32, 64), dropout 0.3; "
        "250 epochs",
        "frechet_distance": 1.661,
        "min_class_share": 0.084,
        "cpu_seconds": 93.6,
    },
    {
        "candidate": "z -> 64 maps 4x4 -> 8x8 without batch norm; D (32, 64), dropout 0.3; "
        "250 epochs",
        "frechet_distance": 2.338,
        "min_class_share": 0.083,
        "cpu_seconds": 78.8,
    },
    {
        "candidate": "z -> 128 -> 32 maps 4x4 -> 8x8; D (32, 64), dropout 0.5; 300 epochs",
        "frechet_distance": 0.899,
        "min_class_share": 0.067,
        "cpu_seconds": 127.5,
    },
    {
        "candidate": "z -> 128 -> 64 maps 4x4 -> 8x8; D (32, 64), dropout 0.5; 300 epochs",
        "frechet_distance": 0.708,
        "min_class_share": 0.084,
        "cpu_seconds": 143.7,
    },
    {
        "candidate": "the same, 200 epochs",
        "frechet_distance": 0.829,
        "min_class_share": 0.075,
        "cpu_seconds": 92.7,
    },
    {
        "candidate": "the same, 200 epochs, seed 1",
        "frechet_distance": 0.814,
        "min_class_share": 0.074,
        "cpu_seconds": 99.0,
    },
    {
        "candidate": "the same, batch 128, 300 epochs",
        "frechet_distance": 1.278,
        "min_class_share": 0.057,
        "cpu_seconds": 108.5,
    },
    {
        "candidate": "the same, 200 epochs, lr 2e-3",
        "frechet_distance": 1.282,
        "min_class_share": 0.077,
        "cpu_seconds": 90.4,
    },
    {
        "candidate": "the same, 200 epochs, EMA 0.998",
        "frechet_distance": 0.825,
        "min_class_share": 0.074,
        "cpu_seconds": 92.8,
    },
    {
        "candidate": "the same, 240 epochs, recalibrated every 50 epochs",
        "frechet_distance": 0.866,
        "min_class_share": 0.080,
        "cpu_seconds": 86.0,
    },
    {
        "candidate": "the same, 280 epochs, recalibrated every 50 epochs (chosen)",
        "frechet_distance": 0.707,
        "min_class_share": 0.073,
        "cpu_seconds": 106.7,
    },
    {
        "candidate": "the same, 280 epochs, recalibrated every 50 epochs (chosen), seed 1",
        "frechet_distance": 0.708,
        "min_class_share": 0.078,
        "cpu_seconds": 111.2,
    },
]


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


def mean_row(rows: list[dict], name: str) -> dict:
    """The mean of every numeric column of ``rows`` (class shares left out)."""
    keys = [k for k in rows[0] if isinstance(rows[0][k], (int, float)) and "/" not in k]
    return {"samples": name, **{k: sum(r[k] for r in rows) / len(rows) for k in keys}}


def targets_met(row: dict, targets: dict, n_classes: int) -> dict[str, bool]:
    """Which of ``targets`` ``row`` meets (all classes: each present, none below the share)."""
    met = {
        "frechet_distance": row["frechet_distance"] <= targets["frechet_distance"],
        "all_classes": row["n_classes_present"] == n_classes
        and row["min_class_share"] >= targets["min_class_share"],
        "cpu_seconds": row["cpu_seconds"] <= targets["cpu_seconds"],
    }
    if "classifier_score" in targets:
        met["classifier_score"] = row["classifier_score"] >= targets["classifier_score"]
    return met


def print_rows(rows: list[dict]) -> None:
    print(
        f"{'samples':24s} {'FD':>8s} {'score':>6s} {'classes':>7s} {'min share':>9s} "
        f"{'confidence':>10s} {'G steps':>8s} {'cpu s':>7s} {'wall s':>7s}"
    )
    for row in rows:
        print(
            f"{row['samples']:24s} {row['frechet_distance']:8.3f} {row['classifier_score']:6.2f} "
            f"{row['n_classes_present']:7.1f} {row['min_class_share']:9.3f} "
            f"{row['mean_confidence']:10.3f} {int(row.get('generator_steps', 0)):8d} "
            f"{row.get('cpu_seconds', float('nan')):7.1f} "
            f"{row.get('wall_seconds', float('nan')):7.1f}"
        )


def conv_vs_mlp(conv: list[dict], mlp: list[dict]) -> list[dict]:
    """Per seed (and for the means): both FDs and CPU times and the conv / MLP ratios."""
    return [
        {
            "seed": c["samples"].removeprefix("conv GAN "),
            "conv_fd": c["frechet_distance"],
            "mlp_fd": m["frechet_distance"],
            "fd_ratio": c["frechet_distance"] / m["frechet_distance"],
            "conv_cpu_seconds": c["cpu_seconds"],
            "mlp_cpu_seconds": m["cpu_seconds"],
            "cpu_ratio": c["cpu_seconds"] / m["cpu_seconds"],
        }
        for c, m in zip(conv, mlp)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=500, help="MLP GAN epochs")
    parser.add_argument("--conv-epochs", type=int, default=CONV_EPOCHS)
    parser.add_argument("--no-textbook", action="store_true", help="skip the untuned GAN")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    epochs, conv_epochs, every = (20, 20, 10) if args.quick else (args.epochs, args.conv_epochs, 50)
    data = prepare(load_digits_dataset(), PrepareConfig(val_fraction=0.0))
    X, y = data.train.X, data.train.y
    image = {"image_shape": data.image_shape}
    conv_networks = (
        dict(CONV_GENERATOR, **image),
        dict(CONV_DISCRIMINATOR, **image),
        CONV_TRAINER,
    )
    rows, trajectories, families = [], {}, {"MLP GAN": [], "conv GAN": []}
    with threadpool_limits(1):
        judge = QualityJudge.fit(X, y, data.n_classes)
        for name, networks, n_epochs in (
            ("MLP GAN", (GENERATOR, DISCRIMINATOR, TRAINER), epochs),
            ("conv GAN", conv_networks, conv_epochs),
        ):
            for seed in range(args.seeds):
                final, trajectories[f"{name} seed {seed}"] = train_gan(
                    X, judge, n_epochs, every, seed, name, networks
                )
                families[name].append(final)
            rows += families[name]
            if args.seeds > 1:
                rows.append(mean_row(families[name], f"{name} mean of {args.seeds}"))
        if not args.no_textbook:
            final, trajectories["MLP GAN textbook seed 0"] = train_gan(
                X, judge, epochs, every, 0, "MLP GAN textbook", TEXTBOOK
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
    print(f"judge test accuracy {judge.accuracy(data.test.X, data.test.y):.4f}")
    print_rows(rows)
    checked = {"MLP GAN": TARGETS, "conv GAN": CONV_TARGETS}
    met = {
        row["samples"]: targets_met(row, checked[name], data.n_classes)
        for name in families
        for row in rows
        if row["samples"].startswith((f"{name} seed", f"{name} mean"))
    }
    for name, checks in met.items():
        print(
            f"{name}: targets "
            + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in checks.items())
        )
    conv, mlp = families["conv GAN"], families["MLP GAN"]
    if args.seeds > 1:
        conv, mlp = conv + [mean_row(conv, "conv GAN mean")], mlp + [mean_row(mlp, "mean")]
    ratios = conv_vs_mlp(conv, mlp)
    print(
        f"{'conv / MLP':12s} {'conv FD':>8s} {'MLP FD':>8s} {'FD ratio':>9s} "
        f"{'conv cpu s':>11s} {'MLP cpu s':>10s} {'cpu ratio':>10s}"
    )
    for r in ratios:
        print(
            f"{r['seed']:12s} {r['conv_fd']:8.3f} {r['mlp_fd']:8.3f} {r['fd_ratio']:9.2f} "
            f"{r['conv_cpu_seconds']:11.1f} {r['mlp_cpu_seconds']:10.1f} {r['cpu_ratio']:10.2f}"
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
            "conv_generator": CONV_GENERATOR,
            "conv_discriminator": CONV_DISCRIMINATOR,
            "conv_trainer": CONV_TRAINER,
            "conv_epochs": conv_epochs,
        },
        "targets": {"MLP GAN": TARGETS, "conv GAN": CONV_TARGETS},
        "targets_met": met,
        "conv_vs_mlp": ratios,
        "conv_selection": CONV_SELECTION,
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
        "checkpoints": trajectories,
    }
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
