"""Transfer with few labels: an encoder with a head fitted frozen, fine-tuned or from scratch,
self-training with pseudo-labels, FixMatch consistency training on images, accuracy curves
over label budgets, and the whole transfer experiment as one recipe."""

from .classifier import (
    FIT_MODES,
    EncoderClassifier,
    EncoderClassifierConfig,
    PrecomputedCodes,
    fit_classifier,
)
from .curves import (
    ALL_LABELS,
    TRANSFER_MODES,
    TransferConfig,
    class_split,
    fit_target,
    label_draw,
    summarize_curve,
    supervised_base_encoder,
    transfer_curve,
)
from .fixmatch import (
    FixMatch,
    FixMatchConfig,
    align_distribution,
    confident_pseudo_labels,
    fixmatch_fit,
    fixmatch_terms,
)
from .pseudo_labels import PseudoLabelConfig, select_pseudo_labels, self_train, spread_labels
from .recipe import TransferResult, transfer_experiment

__all__ = [
    "ALL_LABELS",
    "FIT_MODES",
    "TRANSFER_MODES",
    "EncoderClassifier",
    "EncoderClassifierConfig",
    "FixMatch",
    "FixMatchConfig",
    "PrecomputedCodes",
    "PseudoLabelConfig",
    "TransferConfig",
    "TransferResult",
    "align_distribution",
    "class_split",
    "confident_pseudo_labels",
    "fit_classifier",
    "fit_target",
    "fixmatch_fit",
    "fixmatch_terms",
    "label_draw",
    "select_pseudo_labels",
    "self_train",
    "spread_labels",
    "summarize_curve",
    "supervised_base_encoder",
    "transfer_curve",
    "transfer_experiment",
]
