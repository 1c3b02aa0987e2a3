"""An encoder with a linear head, and fitting it on labelled objects in one of three ways.

``frozen``    the head only (the encoder is a fixed feature extractor);
``finetune``  the head and the encoder, the encoder at ``encoder_lr_scale`` times the rate;
``scratch``   everything at one rate (used on a freshly initialised encoder).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import numpy as np
from torch import Tensor, nn

from ..autoencoders.label_regularized import labelled_cross_entropy
from ..selfsupervised.augment import AugmentConfig, augment_images
from ..selfsupervised.encoders import channel_first
from ..training import Trainer, TrainerConfig, seeded
from ..validation import check_choice, choices

FitMode = Literal["frozen", "finetune", "scratch"]
FIT_MODES = choices(FitMode)


@dataclass(frozen=True)
class EncoderClassifierConfig:
    """The head of an :class:`EncoderClassifier` (its encoder is a part, not a config).

    Parameters
    ----------
    n_classes : K >= 2 outputs of the head.
    freeze_encoder : train the head only (encoder parameters without gradients, eval mode).
    seed : seed of the head's initialisation.
    """

    n_classes: int
    freeze_encoder: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_classes < 2:
            raise ValueError(f"n_classes={self.n_classes} must be >= 2")


class EncoderClassifier(nn.Module):
    """Any encoder f with ``out_features`` (and ``encode`` or ``forward``) plus a linear head:
    logits = W f(x) + b, (B, in) -> (B, K); minimises the mean cross-entropy over the labelled
    objects of the batch (y >= 0; y = -1 is ignored). Terms: ``loss`` = ``classification``,
    ``accuracy`` (of the labelled batch members). ``freeze_encoder`` sets ``requires_grad``
    False on the encoder and keeps it in eval mode (transfer: only the head is trained);
    otherwise use :meth:`param_groups` for a smaller encoder learning rate (fine-tuning).

    The encoder module itself is used, not a copy: fine-tuning changes it. Checkpoints store it
    as a part (:mod:`unsup_core.serialization`). Batches: ``{"x": (B, in), "y": (B,) int}``.
    """

    CHILDREN: ClassVar[tuple[str, ...]] = ("encoder",)

    def __init__(
        self, encoder: nn.Module, n_classes: int, freeze_encoder: bool = False, seed: int = 0
    ) -> None:
        super().__init__()
        config = EncoderClassifierConfig(n_classes, freeze_encoder, seed)
        out_features = getattr(encoder, "out_features", None)
        if not isinstance(out_features, int) or out_features < 1:
            raise TypeError(
                f"{type(encoder).__name__} needs an int attribute out_features >= 1 "
                f"(the code width), got {out_features!r}"
            )
        self.config = config
        self.encoder = encoder
        with seeded(config.seed):
            self.head = nn.Linear(out_features, config.n_classes)
        if config.freeze_encoder:
            self.freeze(True)

    def freeze(self, frozen: bool = True) -> EncoderClassifier:
        """Freeze (``requires_grad`` False, eval mode) or unfreeze every encoder parameter."""
        self.config = replace(self.config, freeze_encoder=bool(frozen))
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(not frozen)
        return self.train(self.training)

    def train(self, mode: bool = True) -> EncoderClassifier:
        super().train(mode)
        if self.config.freeze_encoder:  # no dropout, no batch-norm statistics updates
            self.encoder.eval()
        return self

    def param_groups(self, lr: float, encoder_lr: float | None = None) -> list[dict]:
        """Optimiser groups for ``Trainer.fit(..., param_groups=...)``: the head at ``lr`` (first,
        so the trainer logs its lr), the trainable encoder parameters at ``encoder_lr`` (default
        ``lr``). A frozen encoder, or ``encoder_lr=0``, gets no group."""
        if not lr > 0:
            raise ValueError(f"lr={lr} must be > 0")
        encoder_lr = lr if encoder_lr is None else encoder_lr
        if not encoder_lr >= 0:
            raise ValueError(f"encoder_lr={encoder_lr} must be >= 0")
        groups = [{"params": list(self.head.parameters()), "lr": lr}]
        trainable = [p for p in self.encoder.parameters() if p.requires_grad]
        if trainable and encoder_lr > 0:
            groups.append({"params": trainable, "lr": encoder_lr})
        return groups

    def encode(self, x: Tensor) -> Tensor:
        """(B, in) -> (B, out_features), the encoder's codes."""
        return self.encoder.encode(x) if hasattr(self.encoder, "encode") else self.encoder(x)

    def logits(self, x: Tensor) -> Tensor:
        """(B, in) -> (B, n_classes)."""
        return self.head(self.encode(x))

    forward = logits

    def predict(self, x: Tensor) -> Tensor:
        """(B, in) -> (B,) predicted class indices (int64)."""
        return self.logits(x).argmax(dim=1)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        if "y" not in batch:
            raise ValueError("EncoderClassifier.loss needs batch['y'] (B,) (-1 for unlabelled)")
        classification, accuracy = labelled_cross_entropy(
            self.logits(batch["x"]), batch["y"].long()
        )
        return {
            "loss": classification,
            "classification": classification,
            "accuracy": accuracy.detach(),
        }


class PrecomputedCodes(nn.Module):
    """Identity on precomputed codes (B, width): the stand-in encoder of a frozen fit."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.out_features = int(width)

    def forward(self, x: Tensor) -> Tensor:
        return x


class AugmentedViews(nn.Module):
    """Trains ``model`` on a fresh random view of the images of every batch (eval: as is)."""

    def __init__(
        self, model: EncoderClassifier, image_shape: tuple[int, ...], augment: AugmentConfig
    ) -> None:
        super().__init__()
        self.model, self.augment = model, augment
        self.image_shape = channel_first(image_shape)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x = batch["x"]
        if self.training:
            x = augment_images(x.reshape(len(x), *self.image_shape), self.augment).flatten(1)
        return self.model.loss({**batch, "x": x})


def fit_classifier(
    encoder: nn.Module,
    mode: str,
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    trainer_config: TrainerConfig,
    encoder_lr_scale: float = 0.1,
    codes: np.ndarray | None = None,
    image_shape: tuple[int, ...] | None = None,
    augment: AugmentConfig | None = None,
    copy_encoder: bool = True,
) -> EncoderClassifier:
    """A classifier with a fresh head on ``encoder`` (a copy unless ``copy_encoder`` is False)
    trained on (X, y) with ``trainer_config`` (a step budget keeps the amount of training the
    same whatever the number of labels): ``"frozen"`` the head only, ``"finetune"`` the encoder
    too at ``encoder_lr_scale`` times the rate, ``"scratch"`` everything at one rate. For
    ``"frozen"``, ``codes`` = f(X) trains the head without running the encoder (the same
    optimisation: the frozen encoder is a fixed map); ``augment`` (with ``image_shape``) trains
    on a fresh random view of the images in every batch."""
    check_choice("mode", mode, FIT_MODES)
    model = EncoderClassifier(
        copy.deepcopy(encoder) if copy_encoder else encoder,
        n_classes,
        freeze_encoder=mode == "frozen",
        seed=trainer_config.seed,
    )
    if mode == "frozen" and codes is not None:
        if len(codes) != len(y):
            raise ValueError(f"codes has {len(codes)} rows for {len(y)} labels")
        head_only = EncoderClassifier(
            PrecomputedCodes(codes.shape[1]), n_classes, seed=trainer_config.seed
        )
        Trainer(trainer_config).fit(head_only, {"x": codes, "y": y})
        model.head.load_state_dict(head_only.head.state_dict())
        return model
    groups = (
        model.param_groups(trainer_config.lr, trainer_config.lr * encoder_lr_scale)
        if mode == "finetune"
        else None
    )
    trained = model if augment is None else AugmentedViews(model, image_shape, augment)
    Trainer(trainer_config).fit(trained, {"x": X, "y": y}, param_groups=groups)
    return model
