"""Transfer learning with few labels (Pan & Yang 2009; Yosinski et al. 2014).

A universal part f(x, alpha), learned on a base task with many objects (here: any pretrained
encoder with ``out_features``), and a task-specific head g'(z, beta') learned on a target task with
m << l labelled objects, minimising sum_i L'(g'(f(x'_i, alpha), beta'), y'_i):

``frozen``    over beta' only (alpha fixed: the encoder is a feature extractor);
``finetune``  over beta' and alpha, the encoder at ``encoder_lr_scale`` times the head's rate;
``scratch``   the same network from random initialisation (the baseline transfer must beat);
``pseudo_label`` self-training (:mod:`unsup_core.transfer.pseudo_labels`): the unlabelled training
              objects (their features only) get pseudo-labels, a student is fitted on both.

Target tasks: the same classes with k labels per class, or a split of the classes
(:func:`class_split`, e.g. base = digits 0-4, target = 5-9; the base task may be supervised,
:func:`supervised_base_encoder`), or any labelled user table.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from torch import nn

from ..arrays import accuracy, encoder_codes, untrained_like
from ..data.prepare import PreparedData, Split, few_label_indices
from ..parallel import auto_workers, parallel_map
from ..sizing import ALL_LABELS, auto_label_budgets, auto_labels_per_class
from ..training import Trainer, TrainerConfig
from ..validation import check_choice, choices
from .classifier import EncoderClassifier, fit_classifier
from .fixmatch import FixMatchConfig, fixmatch_fit
from .pseudo_labels import PseudoLabelConfig, self_train

TransferMode = Literal["frozen", "finetune", "scratch", "pseudo_label", "fixmatch"]
TransferTask = Literal["same_classes", "class_split"]
TRANSFER_MODES, TRANSFER_TASKS = choices(TransferMode), choices(TransferTask)
# fixmatch (images only) costs a minute per fit on 2 cores: asked for by name (preset `full`)
DEFAULT_MODES = ("frozen", "finetune", "scratch", "pseudo_label")


@dataclass(frozen=True)
class TransferConfig:
    """Transfer of pretrained encoders to a target task with few labels.

    Parameters
    ----------
    modes : transfer modes, from "frozen", "finetune", "scratch", "pseudo_label", "fixmatch"
        (images only; not in the default).
    labels_per_class : label budgets of the accuracy curve (0 = every training label;
        ``None``: from the data, :func:`unsup_core.sizing.auto_label_budgets`: the rungs
        1, 5, 10, 20 the smallest class can fill, then 0).
    draws : label draws per budget (one run with all labels).
    encoder_lr_scale : encoder learning rate as a share of the head's when fine-tuning.
    trainer : the fits' trainer; its ``steps`` budget gives every label budget the same
        amount of training.
    pseudo_label : settings of the "pseudo_label" mode.
    fixmatch : settings of the "fixmatch" mode (its own trainer and augmentations).
    task : "same_classes" (the data's classes) or "class_split" (only ``target_classes``).
    target_classes : class codes of the target task of a class split.
    supervised_base : class split: also transfer an encoder trained with the labels of the
        other classes (the supervised base task).
    base_steps : optimiser steps of the supervised base task.
    model_labels_per_class : label budget of the classifiers handed on (one per encoder and
        mode; ``None``: 10, or the smallest class's training count when it has fewer).
    seed : seed of the label draws (draw d uses seed + d) and of the heads.
    workers : processes the fits run on (each fit seeds itself: the results do not depend on
        it); ``None``: one per CPU core for a grid of at least 8 fits per core
        (:func:`unsup_core.parallel.auto_workers`), else 1.
    """

    modes: tuple[TransferMode, ...] = DEFAULT_MODES
    labels_per_class: tuple[int, ...] | None = None
    draws: int = 5
    encoder_lr_scale: float = 0.1
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(steps=300, batch_size=32, lr=1e-2)
    )
    pseudo_label: PseudoLabelConfig = field(default_factory=PseudoLabelConfig)
    fixmatch: FixMatchConfig = field(default_factory=FixMatchConfig)
    task: TransferTask = "same_classes"
    target_classes: tuple[int, ...] = (5, 6, 7, 8, 9)
    supervised_base: bool = True
    base_steps: int = 1000
    model_labels_per_class: int | None = None
    seed: int = 0
    workers: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "modes", tuple(self.modes))
        if self.labels_per_class is not None:
            budgets = tuple(int(k) for k in self.labels_per_class)
            object.__setattr__(self, "labels_per_class", budgets)
        object.__setattr__(self, "target_classes", tuple(int(c) for c in self.target_classes))
        for name, value, kind in (
            ("trainer", self.trainer, TrainerConfig),
            ("pseudo_label", self.pseudo_label, PseudoLabelConfig),
            ("fixmatch", self.fixmatch, FixMatchConfig),
        ):
            if not isinstance(value, kind):
                raise TypeError(f"{name} must be a {kind.__name__}, got {type(value).__name__}")
        for mode in self.modes:
            check_choice("mode", mode, TRANSFER_MODES)
        check_choice("task", self.task, TRANSFER_TASKS)
        if self.labels_per_class is not None and any(k < 0 for k in self.labels_per_class):
            raise ValueError(
                f"labels_per_class={self.labels_per_class}: each must be >= 1, or 0 for all labels"
            )
        for name in ("draws", "base_steps", "model_labels_per_class", "workers"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if not self.encoder_lr_scale > 0:
            raise ValueError(f"encoder_lr_scale={self.encoder_lr_scale} must be > 0")

    def curve_fits(self) -> int:
        """Fits of one encoder's curve: every mode at every budget and draw (one draw of all
        labels); label budgets must be set (:meth:`for_data`)."""
        return len(self.modes) * sum(
            self.draws if k != ALL_LABELS else 1 for k in self.labels_per_class
        )

    def for_data(self, data: PreparedData) -> TransferConfig:
        """This config with its unset label budgets sized from ``data``'s smallest class."""
        smallest = data.smallest_class()
        if smallest is None:
            return self
        count, budgets, model = smallest[1], self.labels_per_class, self.model_labels_per_class
        return replace(
            self,
            labels_per_class=auto_label_budgets(count) if budgets is None else budgets,
            model_labels_per_class=auto_labels_per_class(count) if model is None else model,
        )


def class_split(data: PreparedData, classes: Sequence[int]) -> PreparedData:
    """The task restricted to ``classes`` (codes of ``data.class_names``), relabelled 0..k-1."""
    if data.train.y is None:
        raise ValueError("class_split needs labelled data")
    classes = [int(c) for c in classes]
    unknown = [c for c in classes if not 0 <= c < data.n_classes]
    if len(classes) < 2 or unknown:
        raise ValueError(f"classes={classes}: need >= 2 class codes in [0, {data.n_classes})")
    lookup = np.full(data.n_classes, -1)
    lookup[classes] = np.arange(len(classes))

    def subset(split: Split) -> Split:
        keep = np.isin(split.y, classes)
        observed = None if split.observed is None else split.observed[keep]
        return Split(
            split.X[keep], lookup[split.y[keep]].astype(np.int64), observed, split.row_ids[keep]
        )

    names = tuple(data.class_names[c] for c in classes)
    return replace(
        data,
        train=subset(data.train),
        val=subset(data.val),
        test=subset(data.test),
        class_names=names,
    )


def supervised_base_encoder(
    encoder: nn.Module, base: PreparedData, trainer_config: TrainerConfig, steps: int = 1000
) -> nn.Module:
    """Supervised pretraining on a base task: ``encoder`` (trained in place) plus a linear head
    fitted on every labelled training object of ``base`` for ``steps`` optimiser steps; the head
    is dropped and the encoder returned, f(x, alpha) for a target task (Yosinski et al. 2014)."""
    if base.train.y is None:
        raise ValueError("supervised_base_encoder needs a labelled base task")
    model = EncoderClassifier(encoder, base.n_classes, seed=trainer_config.seed)
    config = replace(trainer_config, epochs=None, steps=steps, early_stopping_patience=None)
    Trainer(config).fit(model, {"x": base.train.X, "y": base.train.y})
    return model.encoder


def fit_target(
    encoder: nn.Module,
    mode: str,
    data: PreparedData,
    labelled: np.ndarray,
    config: TransferConfig | None = None,
) -> tuple[EncoderClassifier, float]:
    """Train a head (and, for ``finetune``/``scratch``, the encoder) on the labelled training
    objects ``labelled`` with ``config.trainer``; return the classifier and its test accuracy.
    ``encoder`` is used as given (pass a copy of a pretrained encoder, or a fresh one for
    ``scratch``). ``pseudo_label``: self-training with the other training objects as the
    unlabelled pool (only their features are passed on); with no unlabelled object left it is
    the ``pseudo_label.student_mode`` fit on the labels. ``fixmatch``: consistency training on
    every training image (:func:`unsup_core.transfer.fixmatch.fixmatch_fit`)."""
    config = config or TransferConfig()
    check_choice("mode", mode, TRANSFER_MODES)
    if mode == "fixmatch":
        model, _ = fixmatch_fit(encoder, data, labelled, config.fixmatch)
        return model, accuracy(model, data.test.X, data.test.y)
    if mode == "pseudo_label":
        pool = np.setdiff1d(np.arange(len(data.train)), labelled)
        if len(pool):
            model, _ = self_train(
                encoder,
                data.train.X[labelled],
                data.train.y[labelled],
                data.train.X[pool],
                data.n_classes,
                config.trainer,
                config.pseudo_label,
                config.encoder_lr_scale,
                data.image_shape,
            )
            return model, accuracy(model, data.test.X, data.test.y)
        mode = config.pseudo_label.student_mode
    X, y = data.train.X[labelled], data.train.y[labelled]
    codes = encoder_codes(encoder, X) if mode == "frozen" else None  # the head trains on f(X)
    model = fit_classifier(
        encoder,
        mode,
        X,
        y,
        data.n_classes,
        config.trainer,
        config.encoder_lr_scale,
        codes=codes,
        copy_encoder=False,
    )
    return model, accuracy(model, data.test.X, data.test.y)


def label_draw(data: PreparedData, per_class: int, draw: int, seed: int) -> np.ndarray:
    """Training rows of one label draw: ``per_class`` per class (seed + draw), or all rows."""
    if per_class == ALL_LABELS:
        return np.arange(len(data.train))
    return few_label_indices(data.train.y, per_class, seed + draw, data.class_names)


@dataclass(frozen=True)
class Fit:
    """One fit of a transfer grid: ``mode`` on encoder ``encoder`` with the labels of draw
    ``draw`` at ``labels_per_class`` (:func:`label_draw`); ``keep_model`` hands back the
    classifier too (else only its test accuracy)."""

    encoder: str
    mode: str
    labels_per_class: int
    draw: int = 0
    keep_model: bool = False


def curve_fits(encoder: str, config: TransferConfig) -> list[Fit]:
    """The fits of one encoder's curve (label budgets set, :meth:`TransferConfig.for_data`):
    every budget, draw (one draw of all labels) and mode."""
    return [
        Fit(encoder, mode, per_class, draw)
        for per_class in config.labels_per_class
        for draw in range(config.draws if per_class != ALL_LABELS else 1)
        for mode in config.modes
    ]


def run_fit(
    encoders: Mapping[str, nn.Module], data: PreparedData, config: TransferConfig, fit: Fit
) -> tuple[float, EncoderClassifier | None]:
    """Test accuracy of one :class:`Fit` (and its classifier when ``fit.keep_model``): a copy
    of the pretrained encoder, or for ``scratch`` the same network freshly initialised
    (:func:`~unsup_core.arrays.untrained_like`, seeded by its config: every scratch fit starts
    from the same weights). Deterministic: the same fit gives the same result in any process."""
    pretrained = encoders[fit.encoder]
    encoder = untrained_like(pretrained) if fit.mode == "scratch" else copy.deepcopy(pretrained)
    labelled = label_draw(data, fit.labels_per_class, fit.draw, config.seed)
    model, score = fit_target(encoder, fit.mode, data, labelled, config)
    return score, model if fit.keep_model else None


def transfer_curve(
    pretrained: nn.Module,
    data: PreparedData,
    config: TransferConfig,
    on_fit: Callable[[], None] = lambda: None,
    workers: int | None = 1,
) -> list[dict]:
    """Test accuracy of every mode at every label budget and draw: rows of
    ``{"mode", "labels_per_class", "draw", "accuracy"}`` (labels_per_class 0 = all), the
    ``scratch`` rows on ``pretrained``'s architecture freshly initialised; ``on_fit`` is
    called after each fit (:meth:`TransferConfig.curve_fits` of them). The fits run on
    ``workers`` processes (:func:`unsup_core.parallel.parallel_map`; None: one per core for a
    large grid), with the same results as one."""
    config = config.for_data(data)
    fits = curve_fits("", config)
    scores = parallel_map(
        run_fit,
        ({"": pretrained}, data, config),
        fits,
        auto_workers(len(fits), workers),
        lambda index, outcome: on_fit(),
    )
    return [
        {
            "mode": fit.mode,
            "labels_per_class": fit.labels_per_class,
            "draw": fit.draw,
            "accuracy": score,
        }
        for fit, (score, _) in zip(fits, scores)
    ]


def summarize_curve(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation of accuracy per (mode, labels_per_class)."""
    keys = sorted(
        {(r["mode"], r["labels_per_class"]) for r in rows},
        key=lambda k: (k[0], k[1] if k[1] != ALL_LABELS else math.inf),
    )
    summary = []
    for mode, per_class in keys:
        scores = [
            r["accuracy"] for r in rows if r["mode"] == mode and r["labels_per_class"] == per_class
        ]
        summary.append(
            {
                "mode": mode,
                "labels_per_class": per_class,
                "accuracy": float(np.mean(scores)),
                "accuracy_std": float(np.std(scores)),
                "draws": len(scores),
            }
        )
    return summary
