"""Transfer with few labels on digits: pretrained encoders against training from scratch, beside
the anchors (raw-pixel logistic regression, graph label spreading) computed in the same run.

Data: digits, stratified 70/30 split (seed 0), min-max scaled on train (clipped). Encoders:
the greedy layer-wise stacked autoencoder (sigmoid 64-48-32-16, 30 epochs per layer, then 30
epochs as a deep autoencoder), the relative-patch-position pretext (MLP patch encoder, 100
epochs; native 8x8 with 2x2 patches and 1-pixel gaps, and upsampled to 24x24 with 6x6 patches,
3-pixel gaps and +-1 jitter) and the contrastive pretext (CNN, NT-Xent, 100 epochs). Each is transferred in every mode (frozen encoder + head, fine-tuning
with a 10x smaller encoder rate, the same network from scratch) at 1, 5, 10, 20 labels per class
and all labels, mean over 5 label draws (one run with all labels), 300 optimiser steps per fit.

Run ``python benchmarks/transfer.py`` (``--quick`` for a smoke run); it prints a table and writes
``benchmarks/results/transfer.json``.
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

from unsup_core.data import PrepareConfig, load_digits_dataset, prepare  # noqa: E402
from unsup_core.evaluation import few_label_probe, label_spreading_accuracy  # noqa: E402
from unsup_core.selfsupervised import PretextChoice, pretext_for_data  # noqa: E402
from unsup_core.stacked import (DeepAutoencoder, StackedAutoencoderConfig,  # noqa: E402
                                pretrain_layers)
from unsup_core.training import Trainer, TrainerConfig  # noqa: E402
from unsup_core.transfer import (TransferConfig, summarize_curve, transfer_curve,  # noqa: E402
                                 untrained_like)

from common import write_results  # noqa: E402  (benchmarks/common.py)

RESULTS = ROOT / "benchmarks" / "results" / "transfer.json"


def anchors(data, budgets: tuple[int, ...], draws: int) -> list[dict]:
    rows = []
    for k in [b for b in budgets if b]:
        split = (data.train.X, data.train.y, data.test.X, data.test.y, k, draws)
        for name, (mean, std) in (
                ("anchor: raw-pixel logistic regression", few_label_probe(*split, standardize=False)),
                ("anchor: label spreading", label_spreading_accuracy(*split))):
            rows.append({"mode": name, "labels_per_class": k, "accuracy": mean, "accuracy_std": std,
                         "draws": draws})
    return rows


def stacked_encoder(data, epochs: int) -> StackedEncoder:
    config = StackedAutoencoderConfig(in_features=data.n_features, layer_sizes=(48, 32, 16))
    layers, _ = pretrain_layers(config, data.train.X, TrainerConfig(epochs=epochs, lr=1e-2))
    deep = DeepAutoencoder.from_layers(config, layers)
    Trainer(TrainerConfig(epochs=epochs, lr=1e-3)).fit(deep, {"x": data.train.X})
    return deep.encoder


def ssl_encoder(data, pretext: str, epochs: int, **choice):
    model, _ = pretext_for_data(PretextChoice(pretext=pretext, **choice), data.n_features,
                                data.image_shape)
    Trainer(TrainerConfig(epochs=epochs, batch_size=256, lr=2e-3)).fit(model, {"x": data.train.X})
    return model


def curve_rows(name: str, encoder, scratch, data, config, trainer) -> list[dict]:
    started = time.perf_counter()
    summary = summarize_curve(transfer_curve(encoder, scratch, data, config, trainer))
    seconds = time.perf_counter() - started
    return [{**row, "mode": f"{name}: {row['mode']}", "seconds_all_fits": seconds} for row in summary]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    data = prepare(load_digits_dataset(), PrepareConfig(val_fraction=0.0, clip=True))
    budgets = (1, 5, 10) if args.quick else (1, 5, 10, 20, 0)
    draws = 2 if args.quick else 5
    config = TransferConfig(labels_per_class=budgets, draws=draws,
                            target_steps=50 if args.quick else 300)
    trainer = TrainerConfig(lr=1e-2, batch_size=32)
    with threadpool_limits(1):
        rows = anchors(data, budgets, draws)
        encoders = {
            "stacked AE": stacked_encoder(data, 3 if args.quick else 30),
            "patch position (8x8, MLP)": ssl_encoder(data, "patch_position", 3 if args.quick else 100,
                                                     encoder="mlp"),
            "patch position (24x24 upsampled, MLP)": ssl_encoder(
                data, "patch_position", 3 if args.quick else 100, encoder="mlp", patch_size=6,
                gap=3, jitter=1, upsample=3),
            "contrastive (CNN)": ssl_encoder(data, "contrastive", 3 if args.quick else 100),
        }
        for name, encoder in encoders.items():
            rows += curve_rows(name, encoder, lambda e=encoder: untrained_like(e), data, config,
                               trainer)
    print(f"{'encoder: mode':48s} " + " ".join(f"{(str(k) if k else 'all'):>8s}" for k in budgets))
    for mode in dict.fromkeys(r["mode"] for r in rows):
        cells = {r["labels_per_class"]: r["accuracy"] for r in rows if r["mode"] == mode}
        print(f"{mode:48s} " + " ".join(f"{cells[k]:8.4f}" if k in cells else f"{'-':>8s}"
                                         for k in budgets))
    report = {"benchmark": "transfer", "quick": args.quick, "torch": torch.__version__,
              "python": platform.python_version(), "threads": 1,
              "seconds": round(time.perf_counter() - started, 1), "rows": rows}
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
