"""Pseudo-labelling of the unlabelled training objects (self-training; Lee 2013, "Pseudo-label:
the simple and efficient semi-supervised learning method"; curriculum selection after
Cascante-Bonilla et al. 2021, "Curriculum labeling"; a graph teacher as in Iscen et al. 2019,
"Label propagation for deep semi-supervised learning").

A teacher assigns every unlabelled training object x_j a distribution p(. | x_j), a pseudo-label
y^_j = argmax_c p(c | x_j) and a confidence q_j = max_c p(c | x_j). The teacher is label
spreading (Zhou et al. 2004) over a kNN graph of the encoder's codes f(x) of the k labelled and
the unlabelled objects, or the softmax of a classifier g'(f(x)) fitted on the labelled ones.
Round r = 1..R keeps, within each predicted class, the ``ceil(r / R * n_c)`` most confident of
the n_c pool objects predicted as c, and of those only the ones with q_j >= ``threshold``; a
fresh student (the pretrained encoder again, a new head) is fitted on the labelled objects plus
the kept pseudo-labelled ones, and its codes (or its softmax) make the next round's teacher:

    sum_{i labelled} L(g'(f(x_i)), y_i) + sum_{j kept} L(g'(f(x_j)), y^_j) -> min.

Only the features of the pool are ever passed in: its true labels (and the test split) play no
part. The student is trained as in :func:`~unsup_core.transfer.classifier.fit_classifier`
(``"frozen"``: head only; ``"finetune"``: encoder at ``encoder_lr_scale`` times the head's rate);
a frozen student's
head is trained on codes computed once, which is the same optimisation and much faster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from sklearn.semi_supervised import LabelSpreading
from torch import nn

from ..arrays import apply_array, encoder_codes
from ..selfsupervised.augment import AugmentConfig
from ..training import TrainerConfig
from ..validation import check_choice, choices
from .classifier import EncoderClassifier, fit_classifier

StudentMode = Literal["frozen", "finetune"]
Teacher = Literal["label_spreading", "head"]
STUDENT_MODES, TEACHERS = choices(StudentMode), choices(Teacher)


@dataclass(frozen=True)
class PseudoLabelConfig:
    """Self-training settings. The defaults were chosen on a validation part of the digits
    training split, never on test (``benchmarks/transfer.py``, ``PSEUDO_LABEL_SELECTION``).

    Parameters
    ----------
    rounds : R >= 1 rounds of self-training.
    threshold : a pseudo-label is kept when its confidence is >= threshold (in [0, 1)).
    curriculum : in round r keep only the r / R most confident share of each predicted class
        (without: every confident one, every round).
    student_mode : the student: "frozen" (head on the codes) or "finetune" (encoder too).
    teacher : "label_spreading" (a kNN graph over the codes) or "head" (the softmax of the
        last classifier).
    n_neighbors : neighbours of the label-spreading graph.
    augment : a fine-tuned student sees a fresh random view of every training image in every
        batch (images only; None: no augmentation).
    max_pool : at most this many unlabelled objects are pseudo-labelled (a sample drawn with
        ``pool_seed`` when there are more), so the k-NN graph and the student's data stop
        growing with the data; ``None``: every one.
    pool_seed : seed of that sample.
    """

    rounds: int = 1
    threshold: float = 0.9
    curriculum: bool = True
    student_mode: StudentMode = "finetune"
    teacher: Teacher = "label_spreading"
    n_neighbors: int = 7
    augment: AugmentConfig | None = None
    max_pool: int | None = 20_000
    pool_seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or self.rounds < 1:
            raise ValueError(f"rounds={self.rounds!r} must be an int >= 1")
        if not 0 <= self.threshold < 1:
            raise ValueError(f"threshold={self.threshold} must lie in [0, 1)")
        check_choice("student_mode", self.student_mode, STUDENT_MODES)
        check_choice("teacher", self.teacher, TEACHERS)
        if self.n_neighbors < 1:
            raise ValueError(f"n_neighbors={self.n_neighbors} must be >= 1")
        if self.max_pool is not None and self.max_pool < 1:
            raise ValueError(f"max_pool={self.max_pool} must be >= 1 or None")
        if self.augment is not None and not isinstance(self.augment, AugmentConfig):
            raise TypeError(
                f"augment must be an AugmentConfig or None, got {type(self.augment).__name__}"
            )


def select_pseudo_labels(
    probabilities: np.ndarray, threshold: float, share: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and labels of the pool objects kept as pseudo-labelled.

    probabilities (n, K), rows p(. | x_j). Within each predicted class c (n_c objects) the
    ``ceil(share * n_c)`` most confident are candidates (ties by index); a candidate is kept if
    its confidence max_c p(c | x_j) is >= ``threshold`` and > 0.
    Returns (indices (m,) sorted, labels (m,)).
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities has shape {probabilities.shape}; expected (n, K)")
    if not 0 < share <= 1:
        raise ValueError(f"share={share} must lie in (0, 1]")
    labels = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    keep = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        ranked = members[np.argsort(-confidence[members], kind="stable")]
        top = ranked[: math.ceil(share * len(members))]
        keep.append(top[(confidence[top] >= threshold) & (confidence[top] > 0)])
    chosen = np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
    return chosen.astype(np.int64), labels[chosen].astype(np.int64)


def spread_labels(
    codes_labelled: np.ndarray,
    y_labelled: np.ndarray,
    codes_pool: np.ndarray,
    n_classes: int,
    n_neighbors: int = 7,
) -> np.ndarray:
    """Label spreading (Zhou et al. 2004) over a kNN graph of the labelled and pool codes:
    rows p(. | x_j) (u, n_classes) of the pool objects; a pool object the graph does not reach
    gets a row of zeros (confidence 0, never kept)."""
    codes = np.concatenate([codes_labelled, codes_pool])
    y = np.concatenate([y_labelled, np.full(len(codes_pool), -1)])
    spreading = LabelSpreading(
        kernel="knn", n_neighbors=min(n_neighbors, len(codes) - 1), max_iter=200
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        spreading.fit(codes, y)
    rows = np.nan_to_num(spreading.label_distributions_[len(codes_labelled) :], nan=0.0)
    probabilities = np.zeros((len(codes_pool), n_classes))
    probabilities[:, spreading.classes_] = rows  # classes_ are the codes present in y_labelled
    return probabilities


def self_train(
    encoder: nn.Module,
    X_labelled: np.ndarray,
    y_labelled: np.ndarray,
    X_pool: np.ndarray,
    n_classes: int,
    trainer_config: TrainerConfig,
    config: PseudoLabelConfig | None = None,
    encoder_lr_scale: float = 0.1,
    image_shape: tuple[int, ...] | None = None,
) -> tuple[EncoderClassifier, list[dict]]:
    """Self-training of a classifier on ``encoder`` (used only through copies).

    X_labelled (k, n_features) with y_labelled (k,) in 0..n_classes-1; X_pool (u, n_features)
    the unlabelled objects (features only); ``image_shape`` of the flattened rows is needed by
    ``config.augment``. In each of the ``config.rounds`` rounds the teacher
    labels the pool (:func:`select_pseudo_labels`) and a new student is fitted on labelled +
    kept objects. Teacher ``"label_spreading"``: :func:`spread_labels` over the codes of the
    current encoder (the pretrained one in round 1, the last student's after); ``"head"``: the
    last student's softmax (round 1: a classifier fitted on the labelled objects only).
    Returns the last student and one row per round: ``{"round", "pseudo_labelled",
    "mean_confidence"}`` (confidence of the kept objects).
    """
    config = config or PseudoLabelConfig()
    X_labelled = np.asarray(X_labelled, dtype=np.float32)
    X_pool = np.asarray(X_pool, dtype=np.float32)
    y_labelled = np.asarray(y_labelled, dtype=np.int64)
    if X_labelled.ndim != 2 or X_pool.ndim != 2 or X_pool.shape[1] != X_labelled.shape[1]:
        raise ValueError(
            f"X_labelled {X_labelled.shape} and X_pool {X_pool.shape} must be 2-D "
            "with the same number of columns"
        )
    if len(y_labelled) != len(X_labelled):
        raise ValueError(f"y_labelled has {len(y_labelled)} entries for {len(X_labelled)} rows")
    if len(y_labelled) == 0 or y_labelled.min() < 0 or y_labelled.max() >= n_classes:
        raise ValueError(f"y_labelled must be non-empty class codes in [0, {n_classes})")
    if len(X_pool) == 0:
        raise ValueError("X_pool is empty: self-training needs unlabelled objects")
    if config.max_pool is not None and len(X_pool) > config.max_pool:
        rng = np.random.default_rng(config.pool_seed)
        X_pool = X_pool[np.sort(rng.choice(len(X_pool), config.max_pool, replace=False))]
    augment = config.augment if config.student_mode == "finetune" else None
    if augment is not None and image_shape is None:
        raise ValueError("PseudoLabelConfig.augment needs the image_shape of the rows")
    mode = config.student_mode
    codes_labelled = codes_pool = None
    if mode == "frozen" or config.teacher == "label_spreading":
        codes_labelled = encoder_codes(encoder, X_labelled)
        codes_pool = encoder_codes(encoder, X_pool)
    fit = dict(
        n_classes=n_classes,
        trainer_config=trainer_config,
        encoder_lr_scale=encoder_lr_scale,
        image_shape=image_shape,
        augment=augment,
    )
    frozen_codes = codes_labelled if mode == "frozen" else None
    model = None
    if config.teacher == "head":
        model = fit_classifier(encoder, mode, X_labelled, y_labelled, codes=frozen_codes, **fit)
    history = []
    for r in range(1, config.rounds + 1):
        if config.teacher == "head":
            logits = apply_array(model, X_pool, "logits")
            probabilities = torch.softmax(torch.as_tensor(logits), dim=1).numpy()
        else:
            if model is not None and mode == "finetune":  # the student's own codes
                codes_labelled = apply_array(model, X_labelled, "encode")
                codes_pool = apply_array(model, X_pool, "encode")
            probabilities = spread_labels(
                codes_labelled, y_labelled, codes_pool, n_classes, config.n_neighbors
            )
        share = r / config.rounds if config.curriculum else 1.0
        chosen, labels = select_pseudo_labels(probabilities, config.threshold, share)
        history.append(
            {
                "round": r,
                "pseudo_labelled": len(chosen),
                "mean_confidence": float(probabilities[chosen].max(axis=1).mean())
                if len(chosen)
                else float("nan"),
            }
        )
        X = np.concatenate([X_labelled, X_pool[chosen]])
        y = np.concatenate([y_labelled, labels])
        codes = None if frozen_codes is None else np.concatenate([frozen_codes, codes_pool[chosen]])
        model = fit_classifier(encoder, mode, X, y, codes=codes, **fit)
    return model, history
