"""The self-supervised pretexts by name, and pretraining an encoder on one as a single call.

A pretext that needs images (patch position, contrastive views) does not apply to a table
without an image shape; there masked-feature reconstruction, the one pretext that needs no
image, is trained instead and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from torch import nn

from ..applicability import min_features, requires
from ..arrays import encoder_codes
from ..data.prepare import PreparedData
from ..evaluation import PROBE, few_label_probe
from ..results import ExperimentResult
from ..training import StageCallbacks, Trainer, TrainerConfig, evaluate, no_callbacks
from ..validation import check_choice, choices, config_part
from .contrastive import ContrastiveConfig, ContrastiveModel
from .masked import MaskedFeatureConfig, MaskedFeatureModel
from .position import PatchPositionConfig, PatchPositionModel

Pretext = Literal["contrastive", "patch_position", "masked_features"]
PRETEXT_NAMES = choices(Pretext)
PRETEXTS: dict[str, tuple[type[nn.Module], type]] = {
    "patch_position": (PatchPositionModel, PatchPositionConfig),
    "masked_features": (MaskedFeatureModel, MaskedFeatureConfig),
    "contrastive": (ContrastiveModel, ContrastiveConfig),
}
IMAGE_PRETEXTS = ("patch_position", "contrastive")


@dataclass(frozen=True)
class PretextTrainingConfig:
    """Which pretext, each pretext's model, and how to train it.

    Parameters
    ----------
    pretext : "contrastive", "patch_position" or "masked_features" (data without an image
        shape always use masked_features).
    contrastive : the contrastive (SimCLR) model.
    patch_position : the relative-patch-position model.
    masked_features : the masked-feature model (its default codes are as wide as the
        contrastive encoder's).
    trainer : the shared trainer's settings.
    probe_labels_per_class : labels per class of the few-label probe of the codes.
    """

    pretext: Pretext = "contrastive"
    contrastive: ContrastiveConfig = config_part(ContrastiveConfig(), ("image_shape",))
    patch_position: PatchPositionConfig = config_part(PatchPositionConfig(), ("image_shape",))
    masked_features: MaskedFeatureConfig = config_part(
        MaskedFeatureConfig(code_dim=128), ("in_features",)
    )
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(epochs=100, batch_size=256, lr=2e-3)
    )
    probe_labels_per_class: int = PROBE.labels_per_class

    def __post_init__(self) -> None:
        check_choice("pretext", self.pretext, PRETEXT_NAMES)
        if self.probe_labels_per_class < 1:
            raise ValueError(f"probe_labels_per_class={self.probe_labels_per_class} must be >= 1")


def pretext_for(config: PretextTrainingConfig, image_shape: tuple[int, ...] | None) -> str:
    """The pretext trained for data of this image shape: ``config.pretext``, except that an
    image pretext on data without an image shape (a table) falls back to masked features."""
    if config.pretext in IMAGE_PRETEXTS and image_shape is None:
        return "masked_features"
    return config.pretext


def pretext_model(
    config: PretextTrainingConfig, in_features: int, image_shape: tuple[int, ...] | None
) -> tuple[nn.Module, str]:
    """The model of ``config.pretext`` for data of this width and image shape (see
    :func:`pretext_for`). Returns (model, the pretext used)."""
    pretext = pretext_for(config, image_shape)
    model_class, _ = PRETEXTS[pretext]
    part = getattr(config, pretext)
    if pretext == "masked_features":
        return model_class(replace(part, in_features=in_features)), pretext
    return model_class(replace(part, image_shape=tuple(image_shape))), pretext


@dataclass
class PretextResult(ExperimentResult):
    """``models["checkpoint"]``: the pretext model (its ``encode`` gives the codes);
    ``tags["pretext"]``: the pretext trained (masked_features when images were asked for on a
    table)."""

    @property
    def model(self) -> nn.Module:
        return self.models["checkpoint"]


@requires(min_features(2))
def train_pretext(
    data: PreparedData,
    config: PretextTrainingConfig | None = None,
    callbacks: StageCallbacks = no_callbacks,
) -> PretextResult:
    """Train the pretext model on the training split without labels (validation split for the
    best weights). Metrics: ``test/<term>`` of its loss terms on the test split and, when the
    data has labels, ``probe/accuracy`` of its codes."""
    config = config or PretextTrainingConfig()
    model, used = pretext_model(config, data.n_features, data.image_shape)
    val = {"x": data.val.X} if len(data.val) else None
    history = Trainer(config.trainer, callbacks("")).fit(model, {"x": data.train.X}, val)
    metrics = {f"test/{k}": v for k, v in evaluate(model, {"x": data.test.X}).items()}
    if data.train.y is not None:
        metrics["probe/accuracy"] = few_label_probe(
            encoder_codes(model, data.train.X),
            data.train.y,
            encoder_codes(model, data.test.X),
            data.test.y,
            config.probe_labels_per_class,
        )[0]
    return PretextResult(
        models={"checkpoint": model},
        metrics=metrics,
        histories={"": history},
        tags={"pretext": used},
    )
