"""The stacked-autoencoder experiment as one call: greedy layer-wise pretraining, fine-tuning as
a deep autoencoder, the composed encoder (on a base encoder's codes if asked), measured."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from torch import nn

from ..applicability import min_features, requires
from ..arrays import apply_array, encoder_codes
from ..data.prepare import PreparedData
from ..evaluation import PROBE, few_label_probe
from ..results import ExperimentResult
from ..training import StageCallbacks, Trainer, TrainerConfig, no_callbacks
from ..validation import check_choice, choices
from .networks import DeepAutoencoder, StackedAutoencoderConfig, StackedOnEncoder, pretrain_layers

StartFrom = Literal["data", "encoder"]
START_FROM = choices(StartFrom)


@dataclass(frozen=True)
class StackedTrainingConfig:
    """A stacked autoencoder, how to pretrain its layers and how to fine-tune it.

    Parameters
    ----------
    stack : the stacked autoencoder (its input width comes from the data or the base encoder).
    start_from : "data" (stack on the prepared features) or "encoder" (stack on the codes of
        a pretrained base encoder, x^0 = its code; better in benchmarks/transfer.py: 0.94 vs
        0.88 fine-tuned at 10 labels per class).
    pretrain : the trainer of each layer's autoencoder.
    finetune : the trainer of the deep autoencoder (early stopping on the validation split).
    probe_labels_per_class : labels per class of the few-label probe of the codes.
    """

    stack: StackedAutoencoderConfig = field(default_factory=StackedAutoencoderConfig)
    start_from: StartFrom = "encoder"
    pretrain: TrainerConfig = field(default_factory=lambda: TrainerConfig(epochs=30, lr=1e-2))
    finetune: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(epochs=30, lr=1e-3, early_stopping_patience=10)
    )
    probe_labels_per_class: int = PROBE.labels_per_class

    def __post_init__(self) -> None:
        check_choice("start_from", self.start_from, START_FROM)
        if self.probe_labels_per_class < 1:
            raise ValueError(f"probe_labels_per_class={self.probe_labels_per_class} must be >= 1")


@dataclass
class StackedResult(ExperimentResult):
    """``models["encoder"]``: the fine-tuned encoder (a :class:`StackedOnEncoder` when started
    from a base encoder); ``histories``: ``"layer<h>/"`` per pretrained layer, ``"finetune/"``."""

    @property
    def encoder(self) -> nn.Module:
        return self.models["encoder"]


@requires(min_features(2))
def train_stacked_autoencoder(
    data: PreparedData,
    config: StackedTrainingConfig | None = None,
    base: nn.Module | None = None,
    callbacks: StageCallbacks = no_callbacks,
) -> StackedResult:
    """Greedy layer-wise pretraining of ``config.stack`` on the training split (or on the codes
    ``base`` gives it when ``start_from="encoder"``; ``base`` is then required and copied), then
    fine-tuning as a deep autoencoder. Metrics: ``test/recon_stacked`` (the composed stack
    before fine-tuning) and ``test/recon`` (after), in the space the stack reconstructs, and
    ``probe/accuracy`` of the encoder's codes when the data has labels."""
    config = config or StackedTrainingConfig()
    if config.start_from == "encoder" and base is None:
        raise ValueError("start_from='encoder' needs a pretrained base encoder (base=None given)")
    base = base if config.start_from == "encoder" else None
    X = {
        name: split.X if base is None else encoder_codes(base, split.X)
        for name, split in (("train", data.train), ("val", data.val), ("test", data.test))
    }
    stack = replace(config.stack, in_features=X["train"].shape[1])
    layers, layer_histories = pretrain_layers(
        stack, X["train"], config.pretrain, callbacks_for_layer=lambda h: callbacks(f"layer{h}/")
    )
    deep = DeepAutoencoder.from_layers(stack, layers)
    stacked_recon = reconstruction_mse(deep, X["test"])
    val = {"x": X["val"]} if len(data.val) else None
    history = Trainer(config.finetune, callbacks("finetune/")).fit(deep, {"x": X["train"]}, val)
    encoder = deep.encoder if base is None else StackedOnEncoder.from_parts(base, deep.encoder)
    result = StackedResult(
        models={"encoder": encoder},
        metrics={
            "test/recon_stacked": stacked_recon,
            "test/recon": reconstruction_mse(deep, X["test"]),
        },
        histories={
            **{f"layer{h}/": hist for h, hist in enumerate(layer_histories, 1)},
            "finetune/": history,
        },
        tags={"start_from": config.start_from},
    )
    if data.train.y is not None:
        result.metrics["probe/accuracy"] = few_label_probe(
            encoder_codes(encoder, data.train.X),
            data.train.y,
            encoder_codes(encoder, data.test.X),
            data.test.y,
            config.probe_labels_per_class,
        )[0]
    return result


def reconstruction_mse(model: nn.Module, X: np.ndarray) -> float:
    """Mean squared error of the model's reconstruction of X."""
    return float(((apply_array(model, X) - X) ** 2).mean())
