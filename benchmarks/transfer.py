"""Transfer with few labels on digits: pretrained encoders against training from scratch, beside
the anchors (raw-pixel logistic regression, graph label spreading) computed in the same run.

Data: digits, stratified 70/30 split (seed 0), min-max scaled on train (clipped). Encoders:
the greedy layer-wise stacked autoencoder (sigmoid 64-48-32-16, 30 epochs per layer, then 30
epochs as a deep autoencoder) on the pixels and, with the same schedule, on the codes of the
contrastive encoder; the relative-patch-position pretext (MLP patch encoder, 100 epochs; native
8x8 with 2x2 patches and 1-pixel gaps, and upsampled to 24x24 with 6x6 patches, 3-pixel gaps and
+-1 jitter) and the contrastive pretext (CNN, NT-Xent, 100 epochs). Each is transferred (frozen
encoder + head, fine-tuning with a 10x smaller encoder rate, the same network from scratch and,
for the stacked and contrastive encoders, pseudo-labelling of the unlabelled training images)
at 1, 5, 10, 20 labels per class and all labels, mean over 5 label draws (one run with all
labels), 300 optimiser steps per fit.

Pseudo-labelling (unsup_core.transfer.pseudo_labels): label spreading (kNN graph, 7 neighbours)
over the encoder's codes labels the other training images; those with confidence >= 0.9 and a
fine-tuned student on labels + pseudo-labels, one round. These settings were chosen on a
validation part (20%, stratified) of the training split with the contrastive encoder at 10
labels per class, never on test: threshold 0.9 > 0.5, one round >= two, no augmentation of the
student >= the contrastive views, label spreading teacher > linear-head teacher (see
PSEUDO_LABEL_SELECTION).

Class split: target = digits 5-9 with k labels per class; encoders pretrained with all labels
of digits 0-4 (supervised base task: the contrastive CNN architecture and the 64-48-32-16 MLP,
1000 steps) against the unsupervised encoders above (trained without labels on all training
images) and each network from scratch.

Run ``python benchmarks/transfer.py`` (``--quick`` for a smoke run); it prints a table and writes
``benchmarks/results/transfer.json``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import write_results

from unsup_core.arrays import apply_array, untrained_like
from unsup_core.data import PrepareConfig, load_digits_dataset, prepare
from unsup_core.evaluation import few_label_probe, label_spreading_accuracy
from unsup_core.selfsupervised import (
    ContrastiveConfig,
    ContrastiveModel,
    PatchPositionConfig,
    PatchPositionModel,
)
from unsup_core.stacked import (
    DeepAutoencoder,
    StackedAutoencoderConfig,
    StackedEncoder,
    StackedOnEncoder,
    pretrain_layers,
)
from unsup_core.training import Trainer, TrainerConfig
from unsup_core.transfer import (
    PseudoLabelConfig,
    TransferConfig,
    class_split,
    summarize_curve,
    supervised_base_encoder,
    transfer_curve,
)

RESULTS = ROOT / "benchmarks" / "results" / "transfer.json"
PSEUDO_LABEL = PseudoLabelConfig(
    rounds=1, threshold=0.9, teacher="label_spreading", student_mode="finetune"
)
# validation accuracy (20% of the training split, 5 label draws, 10 labels per class, contrastive
# encoder) of the settings tried before PSEUDO_LABEL was fixed; test was not looked at
PSEUDO_LABEL_SELECTION = {
    "head teacher, frozen student, threshold 0.5/0.8/0.95, 3 rounds (best)": 0.952,
    "head teacher, finetune student, threshold 0.5, 3 rounds": 0.952,
    "label spreading teacher on pretrained codes, no student": 0.969,
    "label spreading, finetune student, threshold 0.5, 1 round": 0.964,
    "label spreading, finetune student, threshold 0.5, 2 rounds": 0.967,
    "label spreading, finetune student, threshold 0.9, 1 round (chosen)": 0.972,
    "label spreading, finetune student, threshold 0.9, 2 rounds": 0.970,
    "label spreading, finetune student on augmented views, threshold 0.9, 1 round": 0.963,
}


def anchors(data, budgets: tuple[int, ...], draws: int) -> list[dict]:
    rows = []
    for k in [b for b in budgets if b]:
        split = (data.train.X, data.train.y, data.test.X, data.test.y, k, draws)
        for name, (mean, std) in (
            ("anchor: raw-pixel logistic regression", few_label_probe(*split, standardize=False)),
            ("anchor: label spreading", label_spreading_accuracy(*split)),
        ):
            rows.append(
                {
                    "mode": name,
                    "labels_per_class": k,
                    "accuracy": mean,
                    "accuracy_std": std,
                    "draws": draws,
                }
            )
    return rows


def stacked_encoder(data, epochs: int, base=None):
    """Layer-wise then fine-tuned as a deep AE, on the pixels or on the codes of ``base``."""
    X = data.train.X if base is None else apply_array(base, data.train.X, "encode")
    config = StackedAutoencoderConfig(in_features=X.shape[1], layer_sizes=(48, 32, 16))
    layers, _ = pretrain_layers(config, X, TrainerConfig(epochs=epochs, lr=1e-2))
    deep = DeepAutoencoder.from_layers(config, layers)
    Trainer(TrainerConfig(epochs=epochs, lr=1e-3)).fit(deep, {"x": X})
    return deep.encoder if base is None else StackedOnEncoder.from_parts(base, deep.encoder)


# The pretext models as the benchmark has always built them (the settings the former
# PretextChoice gave, everything else the configs' defaults): contrastive with the CNN encoder,
# 128-dimensional codes and temperature 0.5; patch position with 2x2 patches and 1-pixel gaps
# unless overridden.
PRETEXT_MODELS = {
    "contrastive": (
        ContrastiveModel,
        ContrastiveConfig,
        {"encoder": "cnn", "code_dim": 128, "temperature": 0.5, "seed": 0},
    ),
    "patch_position": (
        PatchPositionModel,
        PatchPositionConfig,
        {"encoder": "cnn", "patch_size": 2, "gap": 1, "jitter": 0, "upsample": 1, "seed": 0},
    ),
}


def ssl_encoder(data, pretext: str, epochs: int, **settings):
    """The pretext model of ``pretext`` on the data's images, ``settings`` over the defaults
    above, trained without labels on the training images."""
    model_class, config_class, defaults = PRETEXT_MODELS[pretext]
    model = model_class(config_class(image_shape=data.image_shape, **{**defaults, **settings}))
    Trainer(TrainerConfig(epochs=epochs, batch_size=256, lr=2e-3)).fit(model, {"x": data.train.X})
    return model


def curve_rows(
    name: str, encoder, scratch, data, config: TransferConfig, task: str = "same classes"
) -> list[dict]:
    started = time.perf_counter()
    summary = summarize_curve(transfer_curve(encoder, scratch, data, config))
    seconds = time.perf_counter() - started
    print(f"{task}: {name} {seconds:.0f}s", flush=True)
    return [
        {**row, "mode": f"{name}: {row['mode']}", "task": task, "seconds_all_fits": seconds}
        for row in summary
    ]


def class_split_rows(data, encoders: dict, config: TransferConfig, base_steps: int) -> list[dict]:
    """Target 5-9; supervised base 0-4 (CNN and MLP) vs the unsupervised encoders, and scratch.
    The base tasks train with ``config.trainer`` (its rate, batch and seed) for ``base_steps``."""
    task = "class split 0-4 -> 5-9"
    target, base = class_split(data, [5, 6, 7, 8, 9]), class_split(data, [0, 1, 2, 3, 4])
    mlp = StackedEncoder(
        StackedAutoencoderConfig(in_features=data.n_features, layer_sizes=(48, 32, 16))
    )
    supervised = {
        "supervised base 0-4 (CNN)": supervised_base_encoder(
            untrained_like(encoders["contrastive (CNN)"]), base, config.trainer, base_steps
        ),
        "supervised base 0-4 (MLP 64-48-32-16)": supervised_base_encoder(
            mlp, base, config.trainer, base_steps
        ),
    }
    rows = []
    for name, encoder in supervised.items():
        rows += curve_rows(
            name,
            encoder,
            lambda e=encoder: untrained_like(e),
            target,
            replace(config, modes=("frozen", "finetune", "scratch")),
            task,
        )
    for name in ("stacked AE", "contrastive (CNN)"):
        encoder = encoders[name]
        rows += curve_rows(
            f"{name}, no labels",
            encoder,
            lambda e=encoder: untrained_like(e),
            target,
            replace(config, modes=("frozen", "finetune")),
            task,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    data = prepare(load_digits_dataset(), PrepareConfig(val_fraction=0.0, clip=True))
    budgets = (1, 5, 10) if args.quick else (1, 5, 10, 20, 0)
    draws = 2 if args.quick else 5
    # every fit of the curves: Adam 1e-2, batch 32, 300 optimiser steps (50 quick), seed 0
    trainer = TrainerConfig(steps=50 if args.quick else 300, lr=1e-2, batch_size=32)
    config = TransferConfig(
        labels_per_class=budgets, draws=draws, pseudo_label=PSEUDO_LABEL, trainer=trainer
    )
    basic = replace(config, modes=("frozen", "finetune", "scratch"))
    epochs = 3 if args.quick else 30
    with threadpool_limits(1):
        rows = [{**row, "task": "same classes"} for row in anchors(data, budgets, draws)]
        contrastive = ssl_encoder(data, "contrastive", 3 if args.quick else 100)
        encoders = {  # name -> (encoder, transfer config)
            "stacked AE": (stacked_encoder(data, epochs), config),
            "stacked AE on contrastive codes": (stacked_encoder(data, epochs, contrastive), config),
            "patch position (8x8, MLP)": (
                ssl_encoder(data, "patch_position", 3 if args.quick else 100, encoder="mlp"),
                basic,
            ),
            "patch position (24x24 upsampled, MLP)": (
                ssl_encoder(
                    data,
                    "patch_position",
                    3 if args.quick else 100,
                    encoder="mlp",
                    patch_size=6,
                    gap=3,
                    jitter=1,
                    upsample=3,
                ),
                basic,
            ),
            "contrastive (CNN)": (contrastive, config),
        }
        for name, (encoder, transfer) in encoders.items():
            rows += curve_rows(name, encoder, lambda e=encoder: untrained_like(e), data, transfer)
        rows += class_split_rows(
            data,
            {name: e for name, (e, _) in encoders.items()},
            config,
            100 if args.quick else 1000,
        )
    print(f"{'encoder: mode':56s} " + " ".join(f"{(str(k) if k else 'all'):>7s}" for k in budgets))
    for task in dict.fromkeys(r["task"] for r in rows):
        print(task)
        for mode in dict.fromkeys(r["mode"] for r in rows if r["task"] == task):
            cells = {
                r["labels_per_class"]: r["accuracy"]
                for r in rows
                if r["mode"] == mode and r["task"] == task
            }
            print(
                f"  {mode:54s} "
                + " ".join(f"{cells[k]:7.4f}" if k in cells else f"{'-':>7s}" for k in budgets)
            )
    report = {
        "benchmark": "transfer",
        "quick": args.quick,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": 1,
        "seconds": round(time.perf_counter() - started, 1),
        "pseudo_label": asdict(PSEUDO_LABEL),
        "pseudo_label_selection_val_accuracy": PSEUDO_LABEL_SELECTION,
        "rows": rows,
    }
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
