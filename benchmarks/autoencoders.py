"""What each autoencoder's codes buy, honestly, beside the baselines; and the trainer's cost.

Data: scikit-learn digits, stratified 70/30 split (seed 0), min-max scaled on train and clipped.
Quality: few-label linear probe (logistic regression on codes, 10 labels per class, mean over 5
label draws) for every kind of the zoo (same architecture 64-128-16, zoo defaults), the best
configuration found (an overcomplete 64-256 denoising AE, mean over 3 model seeds), beside raw
pixels, PCA-16 codes and graph-based label spreading computed in the same run. The VAE row adds
the test negative ELBO (nats per image, Bernoulli decoder on x / 16, z = 16, 300 epochs, the
issue's anchor 24.1) and the latent units in use (KL > 0.01 nats).
Cost: the shared Trainer's epoch throughput over a minimal hand-written loop (ratio >= 0.9).

Run ``python benchmarks/autoencoders.py`` (``--quick`` for a smoke run); it prints a table and
writes ``benchmarks/results/autoencoders.json``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from unsup_core.autoencoders import (AutoencoderConfig, DenoisingAutoencoder,  # noqa: E402
                                     DenoisingAutoencoderConfig, VariationalAutoencoder,
                                     VariationalAutoencoderConfig, apply_array)
from unsup_core.autoencoders.zoo import (ZooConfig, build_member, evaluate_member,  # noqa: E402
                                         member_data)
from unsup_core.data import Dataset, PrepareConfig, load_digits_dataset, prepare  # noqa: E402
from unsup_core.evaluation import few_label_probe, label_spreading_accuracy  # noqa: E402
from unsup_core.training import Trainer, TrainerConfig  # noqa: E402

from common import write_results  # noqa: E402  (benchmarks/common.py)

RESULTS = ROOT / "benchmarks" / "results" / "autoencoders.json"
PER_CLASS, DRAWS = 10, 5


def baselines(data) -> list[dict]:
    from sklearn.decomposition import PCA

    train, test = data.train, data.test
    rows = []
    raw = few_label_probe(train.X, train.y, test.X, test.y, PER_CLASS, DRAWS)
    rows.append({"method": "raw pixels (logistic regression, standardised)",
                 "probe/accuracy": raw[0], "probe/accuracy_std": raw[1]})
    raw = few_label_probe(train.X, train.y, test.X, test.y, PER_CLASS, DRAWS, standardize=False)
    rows.append({"method": "raw pixels (logistic regression, [0, 1] pixels)",
                 "probe/accuracy": raw[0], "probe/accuracy_std": raw[1]})
    pca = PCA(16, random_state=0).fit(train.X)
    codes = pca.transform(train.X), pca.transform(test.X)
    probe = few_label_probe(codes[0], train.y, codes[1], test.y, PER_CLASS, DRAWS)
    recon = pca.inverse_transform(codes[1])
    rows.append({"method": "PCA-16 codes", "probe/accuracy": probe[0], "probe/accuracy_std": probe[1],
                 "test/recon": float(np.mean((recon - test.X) ** 2))})
    spreading = label_spreading_accuracy(train.X, train.y, test.X, test.y, PER_CLASS, DRAWS)
    rows.append({"method": "label spreading (graph, all train images)",
                 "probe/accuracy": spreading[0], "probe/accuracy_std": spreading[1]})
    return rows


def zoo_rows(data, epochs: int) -> list[dict]:
    zoo = ZooConfig(probe_draws=DRAWS)
    trainer = TrainerConfig(epochs=epochs, lr=2e-3, lr_schedule="cosine")
    rows = []
    for kind in zoo.kinds:
        model = build_member(kind, zoo, data.n_features, data.n_classes)
        train, _ = member_data(kind, data, zoo)
        started = time.perf_counter()
        Trainer(trainer).fit(model, train)
        seconds = time.perf_counter() - started
        rows.append({"method": f"zoo: {kind} (64-128-16)", "train_seconds": seconds,
                     **evaluate_member(model, data, zoo)})
    return rows


def best_denoising(data, epochs: int, seeds: int) -> dict:
    """The overcomplete 64-256 ReLU denoising AE, Gaussian sigma 0.35 (mean over model seeds)."""
    accuracies, seconds = [], []
    for seed in range(seeds):
        model = DenoisingAutoencoder(DenoisingAutoencoderConfig(
            in_features=data.n_features, hidden=(), code_dim=256, code_activation="relu",
            noise_std=0.35, seed=seed))
        started = time.perf_counter()
        Trainer(TrainerConfig(epochs=epochs, lr=3e-3, seed=seed)).fit(model, {"x": data.train.X})
        seconds.append(time.perf_counter() - started)
        codes = apply_array(model, data.train.X, "encode"), apply_array(model, data.test.X, "encode")
        accuracies.append(few_label_probe(codes[0], data.train.y, codes[1], data.test.y,
                                          PER_CLASS, DRAWS)[0])
    return {"method": f"best: denoising 64-256 relu, sigma 0.35 ({seeds} seeds)",
            "probe/accuracy": float(np.mean(accuracies)), "probe/accuracy_std": float(np.std(accuracies)),
            "train_seconds": float(np.mean(seconds))}


def vae_row(epochs: int) -> dict:
    """Bernoulli VAE on x / 16 (the issue's setting): test negative ELBO and active units."""
    digits = load_digits_dataset()
    scaled = Dataset(X=digits.X / 16, feature_names=digits.feature_names, y=digits.y,
                     class_names=digits.class_names, image_shape=digits.image_shape)
    data = prepare(scaled, PrepareConfig(val_fraction=0.0, scaling="none"))
    model = VariationalAutoencoder(VariationalAutoencoderConfig(
        in_features=64, hidden=(256,), code_dim=16, likelihood="bernoulli"))
    started = time.perf_counter()
    Trainer(TrainerConfig(epochs=epochs, lr=1e-3, batch_size=64)).fit(model, {"x": data.train.X})
    seconds = time.perf_counter() - started
    model.eval()
    generator = torch.Generator().manual_seed(0)
    return {"method": f"VAE 64-256-16, Bernoulli on x/16, {epochs} epochs",
            "test/neg_elbo_nats": -model.elbo(data.test.X, samples=100, generator=generator),
            "target_neg_elbo": 24.3, "vae/active_units": int(model.active_units(data.train.X)),
            "train_seconds": seconds}


def trainer_overhead(quick: bool) -> dict:
    from trainer import compare, fit_by_hand, fit_trainer  # benchmarks/trainer.py

    X = prepare(load_digits_dataset(), PrepareConfig()).train.X
    model = AutoencoderConfig(in_features=64, hidden=(128,), code_dim=16)
    epochs = 3 if quick else 10
    record = compare("Trainer / hand-written loop", lambda: fit_trainer(model, X, epochs, 64, 1),
                     lambda: fit_by_hand(model, X, epochs, 64, 1), samples=epochs * len(X),
                     repetitions=2 if quick else 5)
    return {"method": "cost: Trainer epoch throughput / hand loop", **record.__dict__,
            "target_ratio": 0.9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    data = prepare(load_digits_dataset(), PrepareConfig(val_fraction=0.0, clip=True))
    with threadpool_limits(1):
        rows = baselines(data)
        rows += zoo_rows(data, 5 if args.quick else 60)
        rows.append(best_denoising(data, 5 if args.quick else 100, 1 if args.quick else 3))
        rows.append(vae_row(5 if args.quick else 300))
        rows.append(trainer_overhead(args.quick))
    print(f"{'method':58s} {'probe acc':>10s} {'test MSE':>9s} {'other':s}")
    print("-" * 110)
    for row in rows:
        acc = f"{row['probe/accuracy']:.4f}" if "probe/accuracy" in row else "-"
        mse = f"{row['test/recon']:.4f}" if "test/recon" in row else "-"
        other = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()
                 if k in ("test/elbo", "vae/active_units", "test/neg_elbo_nats", "ratio",
                          "codes/near_zero_fraction", "head/accuracy", "train_seconds")}
        print(f"{row['method'][:58]:58s} {acc:>10s} {mse:>9s} {other}")
    report = {"benchmark": "autoencoders", "quick": args.quick, "torch": torch.__version__,
              "python": platform.python_version(), "threads": 1, "labels_per_class": PER_CLASS,
              "probe_draws": DRAWS, "seconds": round(time.perf_counter() - started, 1), "rows": rows}
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
