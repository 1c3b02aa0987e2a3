"""Transfer learning with few labels (Pan & Yang 2009; Yosinski et al. 2014).

A universal part f(x, alpha), learned on a base task with many objects (here: any pretrained
encoder with ``out_features``), and a task-specific head g'(z, beta') learned on a target task with
m << l labelled objects, minimising sum_i L'(g'(f(x'_i, alpha), beta'), y'_i):

``frozen``    over beta' only (alpha fixed: the encoder is a feature extractor);
``finetune``  over beta' and alpha, the encoder at ``encoder_lr_scale`` times the head's rate;
``scratch``   the same network from random initialisation (the baseline transfer must beat);
``pseudo_label`` self-training (:mod:`unsup_core.pseudo_labels`): the unlabelled training
              objects (their features only) get pseudo-labels, a student is fitted on both.

Target tasks: the same classes with k labels per class, or a split of the classes
(:func:`class_split`, e.g. base = digits 0-4, target = 5-9; the base task may be supervised,
:func:`supervised_base_encoder`), or any labelled user table.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from torch import nn

from .autoencoders.layers import apply_array
from .data.config import check_choice
from .data.prepare import PreparedData, Split, few_label_indices
from .codes import encoder_codes
from .pseudo_labels import PseudoLabelConfig, fit_classifier, self_train
from .stacked import EncoderClassifier
from .training import Trainer, TrainerConfig

TRANSFER_MODES = ("frozen", "finetune", "scratch", "pseudo_label")
ALL_LABELS = 0  # labels_per_class entry meaning "every training label"


@dataclass(frozen=True)
class TransferConfig:
    """Which modes, which label budgets (0 = all labels), how many label draws per budget.

    ``target_steps`` sets the number of optimiser steps per fit whatever the label budget
    (epochs = ceil(target_steps / batches per epoch)), so 1 and 100 labels per class get the
    same amount of training. ``pseudo_label`` (a :class:`PseudoLabelConfig` or its dict) configures the
    ``"pseudo_label"`` mode.
    """

    modes: tuple[str, ...] = TRANSFER_MODES
    labels_per_class: tuple[int, ...] = (1, 5, 10, 20, ALL_LABELS)
    draws: int = 5
    encoder_lr_scale: float = 0.1
    target_steps: int = 300
    pseudo_label: PseudoLabelConfig = PseudoLabelConfig()
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "modes", tuple(self.modes))
        if isinstance(self.pseudo_label, Mapping):
            object.__setattr__(self, "pseudo_label", PseudoLabelConfig(**self.pseudo_label))
        if not isinstance(self.pseudo_label, PseudoLabelConfig):
            raise TypeError(f"pseudo_label must be a PseudoLabelConfig, got "
                            f"{type(self.pseudo_label).__name__}")
        object.__setattr__(self, "labels_per_class", tuple(int(k) for k in self.labels_per_class))
        for mode in self.modes:
            check_choice("mode", mode, TRANSFER_MODES)
        if any(k < 0 for k in self.labels_per_class):
            raise ValueError(f"labels_per_class={self.labels_per_class}: each must be >= 1, or 0 "
                             "for all labels")
        if self.draws < 1 or self.target_steps < 1:
            raise ValueError(f"draws={self.draws} and target_steps={self.target_steps} must be >= 1")
        if not self.encoder_lr_scale > 0:
            raise ValueError(f"encoder_lr_scale={self.encoder_lr_scale} must be > 0")


def untrained_like(model: nn.Module) -> nn.Module:
    """The same network, freshly initialised from its config (the ``scratch`` baseline)."""
    from .serialization import model_classes

    model_class, _ = model_classes(type(model).__name__)
    return model_class(model.config)


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
        return Split(split.X[keep], lookup[split.y[keep]].astype(np.int64), observed,
                     split.row_ids[keep])

    names = tuple(data.class_names[c] for c in classes)
    return replace(data, train=subset(data.train), val=subset(data.val), test=subset(data.test),
                   class_names=names)


def supervised_base_encoder(encoder: nn.Module, base: PreparedData, trainer_config: TrainerConfig,
                            steps: int = 1000) -> nn.Module:
    """Supervised pretraining on a base task: ``encoder`` (trained in place) plus a linear head
    fitted on every labelled training object of ``base`` for ``steps`` optimiser steps; the head
    is dropped and the encoder returned, f(x, alpha) for a target task (Yosinski et al. 2014)."""
    if base.train.y is None:
        raise ValueError("supervised_base_encoder needs a labelled base task")
    model = EncoderClassifier(encoder, base.n_classes, seed=trainer_config.seed)
    config = replace(trainer_config.for_steps(steps, len(base.train)), early_stopping_patience=None)
    Trainer(config).fit(model, {"x": base.train.X, "y": base.train.y})
    return model.encoder


def fit_target(encoder: nn.Module, mode: str, data: PreparedData, labelled: np.ndarray,
               trainer_config: TrainerConfig, encoder_lr_scale: float = 0.1,
               target_steps: int = 300, pseudo_label: PseudoLabelConfig | None = None,
               ) -> tuple[EncoderClassifier, float]:
    """Train a head (and, for ``finetune``/``scratch``, the encoder) on the labelled training
    objects ``labelled``; return the classifier and its test accuracy. ``encoder`` is used as
    given (pass a copy of a pretrained encoder, or a fresh one for ``scratch``).
    ``pseudo_label``: self-training with the other training objects as the unlabelled pool
    (only their features are passed on); with no unlabelled object left it is the
    ``pseudo_label.student_mode`` fit on the labels."""
    check_choice("mode", mode, TRANSFER_MODES)
    if mode == "pseudo_label":
        pseudo_label = pseudo_label or PseudoLabelConfig()
        pool = np.setdiff1d(np.arange(len(data.train)), labelled)
        if len(pool):
            model, _ = self_train(encoder, data.train.X[labelled], data.train.y[labelled],
                                  data.train.X[pool], data.n_classes, trainer_config, pseudo_label,
                                  encoder_lr_scale, target_steps, data.image_shape)
            accuracy = float(np.mean(apply_array(model, data.test.X, "predict") == data.test.y))
            return model, accuracy
        mode = pseudo_label.student_mode
    X, y = data.train.X[labelled], data.train.y[labelled]
    codes = encoder_codes(encoder, X) if mode == "frozen" else None  # the head trains on f(X)
    model = fit_classifier(encoder, mode, X, y, data.n_classes, trainer_config, encoder_lr_scale,
                           target_steps, codes=codes, copy_encoder=False)
    accuracy = float(np.mean(apply_array(model, data.test.X, "predict") == data.test.y))
    return model, accuracy


def transfer_curve(pretrained: nn.Module, make_scratch: Callable[[], nn.Module],
                   data: PreparedData, config: TransferConfig,
                   trainer_config: TrainerConfig) -> list[dict]:
    """Test accuracy of every mode at every label budget and draw: rows of
    ``{"mode", "labels_per_class", "draw", "accuracy"}`` (labels_per_class 0 = all)."""
    rows = []
    for per_class in config.labels_per_class:
        for draw in range(config.draws if per_class != ALL_LABELS else 1):
            labelled = (np.arange(len(data.train)) if per_class == ALL_LABELS else
                        few_label_indices(data.train.y, per_class, config.seed + draw,
                                          data.class_names))
            for mode in config.modes:
                encoder = make_scratch() if mode == "scratch" else copy.deepcopy(pretrained)
                _, accuracy = fit_target(encoder, mode, data, labelled, trainer_config,
                                         config.encoder_lr_scale, config.target_steps,
                                         config.pseudo_label)
                rows.append({"mode": mode, "labels_per_class": per_class, "draw": draw,
                             "accuracy": accuracy})
    return rows


def summarize_curve(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation of accuracy per (mode, labels_per_class)."""
    keys = sorted({(r["mode"], r["labels_per_class"]) for r in rows},
                  key=lambda k: (k[0], k[1] if k[1] != ALL_LABELS else math.inf))
    summary = []
    for mode, per_class in keys:
        scores = [r["accuracy"] for r in rows if r["mode"] == mode and r["labels_per_class"] == per_class]
        summary.append({"mode": mode, "labels_per_class": per_class, "accuracy": float(np.mean(scores)),
                        "accuracy_std": float(np.std(scores)), "draws": len(scores)})
    return summary
