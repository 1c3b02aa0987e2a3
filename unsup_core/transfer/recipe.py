"""The transfer experiment: every pretrained encoder in every mode at every label budget (the
accuracy curves), and one classifier per encoder and mode at the model budget to hand on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from torch import nn

from ..applicability import labels, requires
from ..arrays import untrained_like
from ..data.prepare import PreparedData
from ..parallel import auto_workers, parallel_map
from ..results import ExperimentResult
from ..training import Progress, no_progress
from .curves import (
    ALL_LABELS,
    Fit,
    TransferConfig,
    class_split,
    curve_fits,
    run_fit,
    summarize_curve,
    supervised_base_encoder,
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
    fits = [fit for name in encoders for fit in curve_fits(name, config)]
    on_curve = len(fits)
    k = config.model_labels_per_class  # the handed-on classifiers: draw 0 at budget k
    for name in encoders:
        for mode in config.modes:
            handed_on = Fit(name, mode, k, 0)
            if handed_on in fits:  # the same labels, seed and steps: the same classifier
                fits[fits.index(handed_on)] = replace(handed_on, keep_model=True)
            else:
                fits.append(replace(handed_on, keep_model=True))
    done = 0

    def fitted(index: int, outcome: object) -> None:
        nonlocal done
        done += 1
        progress(done, len(fits), "fits")

    outcomes = parallel_map(
        run_fit, (encoders, target, config), fits, auto_workers(len(fits), config.workers), fitted
    )
    rows = [
        {
            "encoder": fit.encoder,
            "mode": fit.mode,
            "labels_per_class": fit.labels_per_class,
            "draw": fit.draw,
            "accuracy": score,
        }
        for fit, (score, _) in zip(fits[:on_curve], outcomes)
    ]
    curve = []
    for name in encoders:
        summary = summarize_curve([row for row in rows if row["encoder"] == name])
        curve += [{"encoder": name, **row} for row in summary]
    result = TransferResult(
        tables={"transfer_curve": curve}, encoders=tuple(encoders), labels_per_class=k
    )
    result.tags["label_budgets"] = ",".join(str(k or "all") for k in config.labels_per_class)
    for row in curve:
        budget = row["labels_per_class"] or "all"
        result.metrics[f"accuracy/{row['encoder']}/{row['mode']}/k{budget}"] = row["accuracy"]
    for fit, (score, model) in zip(fits, outcomes):
        if fit.keep_model:
            key = f"{fit.encoder}_{fit.mode}"
            result.models[key], result.metrics[f"model/{key}/accuracy"] = model, score
    return result


__all__ = ["ALL_LABELS", "CURVE_COLUMNS", "TransferResult", "transfer_experiment"]
