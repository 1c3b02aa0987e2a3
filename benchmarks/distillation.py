"""Teacher, then student: what distillation and privileged information buy on digits.

Data: digits, stratified 70/30 split (seed 0), min-max scaled on train. Teacher 64-256-256-10
on all labels. Students 64-16-10, mean over seeds:
- 10 labels per class alone vs the same labels plus the teacher's soft targets (T = 4,
  alpha = 0.5) on every training image, on a long (12k steps) and a short (3k) schedule;
- all labels: cross-entropy alone vs distillation on the same schedule (distillation must not
  be worse);
- size and inference time per 1,000 objects, teacher over student;
- the student's start: 10 labels per class + soft targets, a 64-48-10 sigmoid student whose
  first layer starts from the stacked autoencoder's encoder (64-48-32-16 sigmoid, greedy
  layer-wise pretraining then fine-tuning as a deep autoencoder on the training images, the
  ``stacked_autoencoder`` asset's defaults on pixels) vs the same student from scratch, and the
  whole stacked encoder as the student's hidden layers;
- privileged information: 20 labels per class, x = the 4x4 average-pooled image (16 features),
  x* = the full image seen only by the teacher: the student alone (3k steps) vs generalized
  distillation (T = 2, mu = 10, imitation on every training image), separate (teacher first, on
  the same labels or on all of them; student 6k steps, and 3k) and joint (teacher and student at
  once, coupling term on every image, 3k steps; Lopez-Paz et al. 2016). Chosen on a validation
  split carved from the training part (stratified 30%, seed 0; 3-5 seeds), never on the test
  split: the separate teacher 64-256-256-10 with dropout 0.5 (candidates: 64-64-10 with and
  without dropout 0.5 or weight decay 1e-3, 64-256-256-10 with dropout 0.5); T = 2 and mu = 10
  (T in {1, 2, 4}, mu in {3, 10, 30}); each arm's schedule (student alone: best of 1.5k, 3k,
  6k steps is 3k; separate student: 6k better than 3k; joint: 3k better than 6k).

A stronger teacher (issue 17): a small CNN (3x3 convolutions with 32 and 64 filters, 2x2 max
pool, 128 ReLU units, linear head; the self-supervised ConvEncoder with an EncoderClassifier
head) trained on every label for 100 epochs on a fresh augmented view of each image, and the
same 64-16-10 student distilled from it on every training image plus, at every step, fresh
augmented views of the batch's images with the CNN's soft targets on those views (live teacher,
y = -1 on the views). LUPI with the CNN teacher on x* (the same 20 labels/class, augmented) and
the student on the pooled version of every augmented view. Every choice of this part (teacher
augmentation; the student's T, alpha, views, teacher-labelled mixup inputs (Beta(0.4, 0.4)),
activation and learning-rate schedule, each candidate the mean of 3 label draws; LUPI T, mu,
views and mixup inputs of x*) is made on the validation
split carved from the training part (stratified 30%, seed 0): the CNN teacher is refitted on
the 70%, candidates are scored on the 30%, and their numbers are written to the JSON
(``validation``); the test split is used only for the chosen configuration.

The seeds run on ``--workers`` processes (default: one per CPU), one torch thread each.
Run ``python benchmarks/distillation.py`` (``--quick`` for a smoke run); it prints a table and
writes ``benchmarks/results/distillation.json``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import write_results

from unsup_core.arrays import accuracy, count_parameters
from unsup_core.data import PrepareConfig, load_digits_dataset, prepare
from unsup_core.data.prepare import few_label_indices
from unsup_core.distillation import (
    AugmentedTargets,
    DistillationConfig,
    DistillationStudent,
    GeneralizedDistillationStudent,
    JointPrivilegedConfig,
    JointPrivilegedModel,
    MLPClassifier,
    MLPClassifierConfig,
    classifier_from_encoder,
    degrade,
    distillation_data,
    fit_conv_teacher,
    inference_seconds_per_1000,
    mixup_inputs,
    pool_images,
    privileged_data,
)
from unsup_core.parallel import available_cpus, parallel_map
from unsup_core.selfsupervised.augment import AugmentConfig
from unsup_core.stacked import (
    DeepAutoencoder,
    StackedAutoencoderConfig,
    pretrain_layers,
)
from unsup_core.training import Trainer, TrainerConfig

RESULTS = ROOT / "benchmarks" / "results" / "distillation.json"
STUDENT = TrainerConfig(batch_size=32, lr=3e-3)
LUPI_TEACHER = dict(hidden=(256, 256), dropout=0.5)  # chosen on the validation split
IMAGE = (8, 8)
TEACHER_AUGMENT = AugmentConfig()  # the contrastive encoder's views; chosen on validation
VIEWS = {  # candidate augmentations of the student's distillation views
    "weak (shift 1, rotation 10, scale 0.9-1.1)": AugmentConfig(noise_std=0.0, erase_prob=0.0),
    "default (+ noise 0.05, erasing 0.25)": AugmentConfig(),
}


def mlp(
    in_features: int,
    hidden: tuple[int, ...],
    seed: int,
    activation: str = "relu",
    dropout: float = 0.0,
) -> MLPClassifier:
    return MLPClassifier(
        MLPClassifierConfig(
            in_features=in_features,
            hidden=hidden,
            n_classes=10,
            activation=activation,
            dropout=dropout,
            seed=seed,
        )
    )


def stacked_encoder(X: np.ndarray, quick: bool):
    """The stacked_autoencoder asset's defaults on pixels: 64-48-32-16 sigmoid, plain layers,
    pretraining 30 epochs (lr 1e-2), fine-tuning 30 epochs (lr 1e-3); no labels."""
    config = StackedAutoencoderConfig(
        in_features=X.shape[1], layer_sizes=(48, 32, 16), activation="sigmoid"
    )
    epochs = 3 if quick else 30
    layers, _ = pretrain_layers(config, X, TrainerConfig(epochs=epochs, lr=1e-2))
    deep = DeepAutoencoder.from_layers(config, layers)
    Trainer(TrainerConfig(epochs=epochs, lr=1e-3)).fit(deep, {"x": X})
    return deep.encoder


def train(
    model, data: dict, steps: int, seed: int, lr: float = 3e-3, schedule: str = "constant"
) -> None:
    """``steps`` optimiser steps, rounded up to whole epochs over the rows of ``data``."""
    config = TrainerConfig(steps=steps, batch_size=32, lr=lr, lr_schedule=schedule, seed=seed)
    Trainer(config).fit(model, data)


def students(data, teacher, encoder, seed: int, long: int, short: int) -> dict[str, float]:
    X, y, X_test, y_test = data.train.X, data.train.y, data.test.X, data.test.y
    labelled = data.few_labels(10, seed)
    out = {}
    for name, steps in (("12k", long), ("3k", short)):
        alone = mlp(64, (16,), seed)
        train(alone, {"x": X[labelled], "y": y[labelled]}, steps, seed)
        student = mlp(64, (16,), seed)
        train(
            DistillationStudent(student, DistillationConfig(4.0, 0.5)),
            distillation_data(teacher, X, y, labelled),
            steps,
            seed,
        )
        out[f"10 labels/class, {name} steps: CE alone"] = accuracy(alone, X_test, y_test)
        out[f"10 labels/class, {name} steps: + teacher soft targets"] = accuracy(
            student, X_test, y_test
        )
    soft = distillation_data(teacher, X, y, labelled)
    starts = {
        "64-48 sigmoid from scratch": lambda: mlp(64, (48,), seed, "sigmoid"),
        "64-48 sigmoid, layer 1 from the stacked encoder": lambda: classifier_from_encoder(
            encoder, 10, depth=1, seed=seed
        ),
        "64-48-32-16 sigmoid, the whole stacked encoder": lambda: classifier_from_encoder(
            encoder, 10, seed=seed
        ),
    }
    for name, make in starts.items():
        student = make()
        train(DistillationStudent(student, DistillationConfig(4.0, 0.5)), soft, long, seed)
        out[f"10 labels/class, {long / 1000:g}k steps: + soft targets, student {name}"] = accuracy(
            student, X_test, y_test
        )
    for name in ("64-48 sigmoid from scratch", "64-48 sigmoid, layer 1 from the stacked encoder"):
        alone = starts[name]()
        train(alone, {"x": X[labelled], "y": y[labelled]}, long, seed)
        out[f"10 labels/class, {long / 1000:g}k steps: CE alone, student {name}"] = accuracy(
            alone, X_test, y_test
        )
    alone = mlp(64, (16,), seed)
    train(alone, {"x": X, "y": y}, long, seed)
    student = mlp(64, (16,), seed)
    train(
        DistillationStudent(student, DistillationConfig(4.0, 0.5)),
        distillation_data(teacher, X, y),
        long,
        seed,
    )
    out["all labels: CE alone"] = accuracy(alone, X_test, y_test)
    out["all labels: + teacher soft targets"] = accuracy(student, X_test, y_test)
    return out


def privileged(data, seed: int, steps: int) -> dict[str, float]:
    """``steps``: the teacher's, the student alone's and the joint model's schedule; the
    separately distilled student trains twice as long (each chosen on the validation split)."""
    x, x_test = degrade(data.train.X, (8, 8)), degrade(data.test.X, (8, 8))
    labelled = data.few_labels(20, seed)
    y = data.train.y
    alone = mlp(16, (32,), seed)
    train(alone, {"x": x[labelled], "y": y[labelled]}, steps, seed)
    out = {
        "LUPI 20 labels/class, x = 4x4 pooled: student alone": accuracy(alone, x_test, data.test.y)
    }
    teachers = (
        ("same 20 labels/class", labelled, LUPI_TEACHER, (2 * steps, steps)),
        ("same 20 labels/class, teacher 64-64-10 (before)", labelled, dict(hidden=(64,)), (steps,)),
        ("all labels", np.arange(len(y)), dict(hidden=(64,)), (steps,)),
    )
    for name, rows, shape, schedules in teachers:
        teacher = mlp(64, shape["hidden"], seed, dropout=shape.get("dropout", 0.0))
        train(teacher, {"x": data.train.X[rows], "y": y[rows]}, steps, seed)
        out[f"LUPI: teacher on x* with {name}"] = accuracy(teacher, data.test.X, data.test.y)
        soft = privileged_data(teacher, x, data.train.X, y, labelled)
        for student_steps in schedules:
            student = mlp(16, (32,), seed)
            train(GeneralizedDistillationStudent(student, 2.0, 10.0), soft, student_steps, seed)
            out[
                f"LUPI: + generalized distillation, teacher on x* with {name}, student "
                f"{student_steps / 1000:g}k steps"
            ] = accuracy(student, x_test, data.test.y)
    targets = np.full(len(y), -1, dtype=np.int64)
    targets[labelled] = y[labelled]
    joint = JointPrivilegedModel(
        JointPrivilegedConfig(
            16,
            64,
            10,
            student_hidden=(32,),
            teacher_hidden=LUPI_TEACHER["hidden"],
            mu=10.0,
            temperature=2.0,
            seed=seed,
        )
    )
    train(joint, {"x": x, "x_star": data.train.X, "y": targets}, steps, seed)
    out["LUPI: joint (teacher and student at once, same 20 labels/class)"] = accuracy(
        joint, x_test, data.test.y
    )
    out["LUPI: joint, its teacher on x*"] = accuracy(joint.teacher, data.test.X, data.test.y)
    return out


def carve_validation(X: np.ndarray, y: np.ndarray):
    """The training part split once more, stratified 70/30 (seed 0): (X_fit, y_fit, X_val,
    y_val). Every configuration choice of the CNN part is scored on X_val."""
    fit, val = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=0)
    return X[fit], y[fit], X[val], y[val]


def cnn_teacher(X, y, epochs: int, seed: int = 0, augment: AugmentConfig | None = TEACHER_AUGMENT):
    """The CNN teacher (32-64 filters, 128 units) on (X, y), cosine-annealed Adam."""
    trainer = TrainerConfig(epochs=epochs, batch_size=64, lr=2e-3, lr_schedule="cosine", seed=seed)
    return fit_conv_teacher(X, y, IMAGE, trainer, augment, n_classes=10)


def kd_student(teacher, X, y, labelled, seed: int, steps: int, choice: dict) -> MLPClassifier:
    """The 64-16-10 student on ``labelled`` plus the teacher's soft targets on every row of X
    and, when ``choice["views"]`` names an augmentation, on fresh augmented views."""
    student = mlp(64, (16,), seed, choice.get("activation", "relu"))
    augment = VIEWS.get(choice["views"])
    views = None if augment is None else AugmentedTargets(teacher, IMAGE, augment)
    wrapper = DistillationStudent(
        student, DistillationConfig(choice["T"], choice["alpha"]), views=views
    )
    optimiser = {k: choice[k] for k in ("lr", "schedule") if k in choice}
    extra = mixup_inputs(X, choice["mixup"], seed=seed) if choice.get("mixup") else None
    train(wrapper, distillation_data(teacher, X, y, labelled, extra), steps, seed, **optimiser)
    return student


def lupi_student(teacher, x, x_star, y, labelled, seed: int, steps: int, choice: dict):
    """The 16-32-10 student on the pooled view, generalized distillation from the teacher on
    x*, plus (``choice["views"]``) the teacher on augmented x* and the student on its pooling."""
    student = mlp(16, (32,), seed)
    augment = VIEWS.get(choice["views"])
    views = (
        None
        if augment is None
        else AugmentedTargets(
            teacher, IMAGE, augment, student_view=partial(pool_images, image_shape=IMAGE)
        )
    )
    wrapper = GeneralizedDistillationStudent(student, choice["T"], choice["mu"], views=views)
    if choice.get("mixup"):  # teacher-labelled mixups of x*, the student on their pooling
        mixed = mixup_inputs(x_star, choice["mixup"], seed=seed)
        x, x_star = np.concatenate([x, degrade(mixed, IMAGE)]), np.concatenate([x_star, mixed])
        y = np.concatenate([y, np.full(len(mixed), -1, dtype=y.dtype)])
    data = privileged_data(teacher, x, x_star, y, labelled, keep_privileged=True)
    train(wrapper, data, steps, seed)
    return student


CNN_STUDENT_STEPS = (
    3000  # the final students' schedule, that of the candidates (12k: lower on validation)
)
NO_VIEWS = "none"
WEAK = next(iter(VIEWS))
SIGMOID = dict(activation="sigmoid", lr=3e-2, schedule="cosine")  # lr 1e-2: lower on validation
SELECTION_SEEDS = 3  # label draws (and student seeds) per student candidate on validation
STUDENT_CANDIDATES = [
    dict(T=4.0, alpha=0.5, views=NO_VIEWS),
    dict(T=1.0, alpha=0.1, views=NO_VIEWS),
    dict(T=1.0, alpha=0.1, views=WEAK),
    dict(T=1.0, alpha=0.1, views=NO_VIEWS, **SIGMOID),
    dict(T=1.0, alpha=0.1, views=WEAK, **SIGMOID),
    dict(T=2.0, alpha=0.1, views=NO_VIEWS, **SIGMOID),
    dict(T=1.0, alpha=0.1, views=NO_VIEWS, mixup=2000, **SIGMOID),
    dict(T=1.0, alpha=0.1, views=NO_VIEWS, mixup=5000, **SIGMOID),
    dict(T=1.0, alpha=0.1, views=NO_VIEWS, mixup=10000, **SIGMOID),
]
LUPI_CANDIDATES = [
    dict(T=2.0, mu=10.0, views=NO_VIEWS),
    dict(T=2.0, mu=10.0, views=WEAK),
    dict(T=1.0, mu=10.0, views=WEAK),
    dict(T=2.0, mu=3.0, views=WEAK),
    dict(T=1.0, mu=10.0, views=WEAK, mixup=2000),
    dict(T=1.0, mu=10.0, views=NO_VIEWS, mixup=2000),
]


def candidate_accuracy(teacher, X, y, X_val, y_val, steps: int, job: tuple) -> float:
    """Validation accuracy of the student candidate ``job = (choice, seed)`` (label draw and
    initialisation ``seed``); one torch thread, as parallel_map's workers and main() set."""
    choice, seed = job
    labelled = few_label_indices(y, 10, seed)
    return accuracy(kd_student(teacher, X, y, labelled, seed, steps, choice), X_val, y_val)


def describe(choice: dict) -> str:
    weight = f"alpha={choice['alpha']:g}" if "alpha" in choice else f"mu={choice['mu']:g}"
    student = [
        f"{choice['activation']} student" if "activation" in choice else "",
        f"lr {choice['lr']:g}" if "lr" in choice else "",
        f"{choice['mixup']} mixup inputs" if "mixup" in choice else "",
        f"{choice['schedule']} lr" if "schedule" in choice else "",
    ]
    extra = "".join(f", {part}" for part in student if part)
    return f"T={choice['T']:g}, {weight}, views: {choice['views']}{extra}"


def select(data, epochs: int, steps: int, workers: int) -> tuple[list[dict], dict]:
    """Every choice of the CNN part, on the validation split carved from training (seed 0;
    students at ``steps``). Returns the candidates' validation accuracies and the choices."""
    X, y, X_val, y_val = carve_validation(data.train.X, data.train.y)
    rows: list[dict] = []

    def score(case: str, model, inputs=None) -> float:
        value = accuracy(model, X_val if inputs is None else inputs, y_val)
        rows.append({"case": case, "val_accuracy": value, "seeds": 1})
        print(f"validation  {case[:90]:90s} {value:.4f}", flush=True)
        return value

    reference = mlp(64, (256, 256), 0)
    Trainer(TrainerConfig(epochs=max(1, epochs * 3 // 5), batch_size=32, lr=1e-3)).fit(
        reference, {"x": X, "y": y}
    )
    score("teacher: MLP 64-256-256-10 (today's), 60 epochs", reference)
    plain = cnn_teacher(X, y, epochs, augment=None)
    plain_score = score(f"teacher: CNN, {epochs} epochs, no augmentation", plain)
    teacher = cnn_teacher(X, y, epochs)
    augmented = score(f"teacher: CNN, {epochs} epochs, augmented views", teacher) >= plain_score
    teacher = teacher if augmented else plain
    jobs = [(c, seed) for c in STUDENT_CANDIDATES for seed in range(SELECTION_SEEDS)]
    shared = (teacher, X, y, X_val, y_val, steps)
    values = np.reshape(
        parallel_map(candidate_accuracy, shared, jobs, workers), (-1, SELECTION_SEEDS)
    )
    student_scores = []
    for c, per_seed in zip(STUDENT_CANDIDATES, values):
        case = f"student 64-16-10, 10 labels/class, {steps} steps, CNN teacher: {describe(c)}"
        rows.append(
            {
                "case": case,
                "val_accuracy": float(per_seed.mean()),
                "per_seed": per_seed.tolist(),
                "seeds": SELECTION_SEEDS,
            }
        )
        print(f"validation  {case[:90]:90s} {per_seed.mean():.4f}", flush=True)
        student_scores.append(per_seed.mean())
    x, x_val = degrade(X, IMAGE), degrade(X_val, IMAGE)
    labelled = few_label_indices(y, 20, 0)
    lupi_teacher = cnn_teacher(X[labelled], y[labelled], 3 * epochs)
    score("LUPI: CNN teacher on x*, 20 labels/class, augmented", lupi_teacher)
    lupi_scores = [
        score(
            f"LUPI student 16-32-10 on x, 20 labels/class, {steps} steps: {describe(c)}",
            lupi_student(lupi_teacher, x, X, y, labelled, 0, steps, c),
            x_val,
        )
        for c in LUPI_CANDIDATES
    ]
    chosen = {
        "teacher_augment": TEACHER_AUGMENT if augmented else None,
        "student": STUDENT_CANDIDATES[int(np.argmax(student_scores))],
        "lupi": LUPI_CANDIDATES[int(np.argmax(lupi_scores))],
    }
    return rows, chosen


def cnn_students(data, teacher, seed: int, steps: int, chosen: dict) -> dict[str, float]:
    X, y, X_test, y_test = data.train.X, data.train.y, data.test.X, data.test.y
    labelled = data.few_labels(10, seed)
    plain = dict(T=4.0, alpha=0.5, views=NO_VIEWS)
    out = {}
    for name, choice in (("today's recipe", plain), ("chosen on validation", chosen)):
        student = kd_student(teacher, X, y, labelled, seed, steps, choice)
        out[
            f"10 labels/class, {steps / 1000:g}k steps: + CNN teacher soft targets, {name} "
            f"({describe(choice)})"
        ] = accuracy(student, X_test, y_test)
    return out


def cnn_privileged(data, seed: int, epochs: int, steps: int, chosen: dict) -> dict[str, float]:
    x, x_test = degrade(data.train.X, IMAGE), degrade(data.test.X, IMAGE)
    labelled = data.few_labels(20, seed)
    y = data.train.y
    teacher = cnn_teacher(data.train.X[labelled], y[labelled], epochs, seed)
    student = lupi_student(teacher, x, data.train.X, y, labelled, seed, steps, chosen)
    return {
        "LUPI: CNN teacher on x* with same 20 labels/class, augmented": accuracy(
            teacher, data.test.X, data.test.y
        ),
        f"LUPI: + generalized distillation, CNN teacher on x* with same 20 labels/class, "
        f"student {steps / 1000:g}k steps, chosen on validation ({describe(chosen)})": accuracy(
            student, x_test, data.test.y
        ),
    }


def seed_rows(data, teacher, encoder, cnn, chosen: dict, schedule: tuple, seed: int) -> dict:
    """Every test row of one seed (on a worker process: parallel_map sets one thread)."""
    long, short, cnn_epochs, cnn_steps = schedule
    return {
        **students(data, teacher, encoder, seed, long, short),
        **cnn_students(data, cnn, seed, cnn_steps, chosen["student"]),
        **privileged(data, seed, short),
        **cnn_privileged(data, seed, 3 * cnn_epochs, short, chosen["lupi"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=available_cpus(), help="processes for the seeds"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    seeds = 1 if args.quick else 5
    long, short = (600, 200) if args.quick else (12000, 3000)
    cnn_epochs, cnn_steps = (3, 200) if args.quick else (100, CNN_STUDENT_STEPS)
    data = prepare(load_digits_dataset(), PrepareConfig(val_fraction=0.0))
    with threadpool_limits(1):
        teacher = mlp(64, (256, 256), 0)
        Trainer(TrainerConfig(epochs=5 if args.quick else 60, batch_size=32, lr=1e-3)).fit(
            teacher, data.train.tensors()
        )
        encoder = stacked_encoder(data.train.X, args.quick)
        validation, chosen = select(data, cnn_epochs, short, args.workers)
        cnn = cnn_teacher(data.train.X, data.train.y, cnn_epochs, augment=chosen["teacher_augment"])
        shared = (data, teacher, encoder, cnn, chosen, (long, short, cnn_epochs, cnn_steps))
        per_seed = parallel_map(seed_rows, shared, list(range(seeds)), args.workers)
        small = mlp(64, (16,), 0)
        student_time = inference_seconds_per_1000(small, data.test.X)
        sizes = {
            "teacher test accuracy (all labels)": accuracy(teacher, data.test.X, data.test.y),
            "teacher / student parameters": count_parameters(teacher) / count_parameters(small),
            "teacher / student inference time per 1000": inference_seconds_per_1000(
                teacher, data.test.X
            )
            / student_time,
            "CNN teacher test accuracy (all labels, augmented)": accuracy(
                cnn, data.test.X, data.test.y
            ),
            "CNN teacher / student parameters": count_parameters(cnn) / count_parameters(small),
            "CNN teacher / student inference time per 1000": inference_seconds_per_1000(
                cnn, data.test.X
            )
            / student_time,
        }
    rows = [
        {
            "case": case,
            "mean": float(np.mean([r[case] for r in per_seed])),
            "std": float(np.std([r[case] for r in per_seed])),
            "seeds": seeds,
        }
        for case in per_seed[0]
    ]
    rows += [
        {"case": case, "mean": float(value), "std": 0.0, "seeds": 1}
        for case, value in sizes.items()
    ]
    for row in rows:
        print(f"{row['case'][:100]:100s} {row['mean']:9.4f} +- {row['std']:.4f}")
    report = {
        "benchmark": "distillation",
        "quick": args.quick,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": 1,
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
        "chosen_on_validation": {
            "teacher augmentation": str(chosen["teacher_augment"]),
            "student": describe(chosen["student"]),
            "lupi": describe(chosen["lupi"]),
        },
        "validation": validation,
    }
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
