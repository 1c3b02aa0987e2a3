"""The transfer experiment: every pretrained encoder in every mode at every label budget (the
accuracy curves), and one classifier per encoder and mode at the model budget to hand on."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

from ..applicability import labels, requires
from ..arrays import untrained_like
from ..data.prepare import PreparedData
from ..results import ExperimentResult
from ..training import Progress, no_progress
from .curves import (
    ALL_LABELS,
    TransferConfig,
    class_split,
    fit_target,
    summarize_curve,
    supervised_base_encoder,
    transfer_curve,
)

CURVE_COLUMNS = ("encoder", "mode", "labels_per_class", "accuracy", "accuracy_std", "draws")


@dataclass
class TransferResult(ExperimentResult):
    """``tables["transfer_curve"]``: rows of :data:`CURVE_COLUMNS`; ``models``: the classifier of
    each ``<encoder>_<mode>`` at ``model_labels_per_class``; ``encoders``: the encoder names."""

    encoders: tuple[str, ...] = ()
    labels_per_class: int = 0

    @property
    def curve(self) -> list[dict]:
        return self.tables["transfer_curve"]


@requires(labels)
def transfer_experiment(
    data: PreparedData,
    encoders: Mapping[str, nn.Module],
    config: TransferConfig | None = None,
    progress: Progress = no_progress,
) -> TransferResult:
    """Transfer each of ``encoders`` (name -> pretrained encoder, used through copies) to the
    target task of ``config.task``; for a class split with ``supervised_base``, also an encoder
    of the last one's architecture trained on the labels of the other classes. Metrics:
    ``accuracy/<encoder>/<mode>/k<budget>`` (mean over draws; budget ``all`` for every label)
    and ``model/<encoder>_<mode>/accuracy`` of the classifiers handed on."""
    config = config or TransferConfig()
    encoders = dict(encoders)
    target = data
    if config.task == "class_split":
        target = class_split(data, config.target_classes)
        if config.supervised_base:
            others = [c for c in range(data.n_classes) if c not in config.target_classes]
            architecture = untrained_like(list(encoders.values())[-1])
            encoders["supervised_base"] = supervised_base_encoder(
                architecture, class_split(data, others), config.trainer, config.base_steps
            )
    config = config.for_data(target)  # unset label budgets sized from the smallest class
    total, done = len(encoders) * (config.curve_fits() + len(config.modes)), 0

    def fitted() -> None:
        nonlocal done
        done += 1
        progress(done, total, "fits")

    curve = []
    for name, encoder in encoders.items():
        rows = summarize_curve(
            transfer_curve(encoder, lambda e=encoder: untrained_like(e), target, config, fitted)
        )
        curve += [{"encoder": name, **row} for row in rows]
    result = TransferResult(
        tables={"transfer_curve": curve},
        encoders=tuple(encoders),
        labels_per_class=config.model_labels_per_class,
    )
    result.tags["label_budgets"] = ",".join(str(k or "all") for k in config.labels_per_class)
    for row in curve:
        budget = row["labels_per_class"] or "all"
        result.metrics[f"accuracy/{row['encoder']}/{row['mode']}/k{budget}"] = row["accuracy"]
    labelled = target.few_labels(config.model_labels_per_class, config.seed)
    for name, encoder in encoders.items():
        for mode in config.modes:
            start = untrained_like(encoder) if mode == "scratch" else copy.deepcopy(encoder)
            key = f"{name}_{mode}"
            result.models[key], result.metrics[f"model/{key}/accuracy"] = fit_target(
                start, mode, target, labelled, config
            )
            fitted()
    return result


__all__ = ["ALL_LABELS", "CURVE_COLUMNS", "TransferResult", "transfer_experiment"]
