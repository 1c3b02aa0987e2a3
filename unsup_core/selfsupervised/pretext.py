"""The self-supervised pretexts by name: an explicit table, for configs that choose one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from .contrastive import ContrastiveConfig, ContrastiveModel
from .masked import MaskedFeatureConfig, MaskedFeatureModel
from .patches import PatchGrid
from .position import PatchPositionConfig, PatchPositionModel

PRETEXTS: dict[str, tuple[type[nn.Module], type]] = {
    "patch_position": (PatchPositionModel, PatchPositionConfig),
    "masked_features": (MaskedFeatureModel, MaskedFeatureConfig),
    "contrastive": (ContrastiveModel, ContrastiveConfig),
}


def build_pretext_model(pretext: str, **settings: Any) -> nn.Module:
    """The model of ``pretext`` built from its config's ``settings``, e.g.
    ``build_pretext_model("masked_features", in_features=64, mask_prob=0.3)``."""
    if pretext not in PRETEXTS:
        raise ValueError(f"pretext={pretext!r} is not one of {sorted(PRETEXTS)}")
    model_class, config_class = PRETEXTS[pretext]
    return model_class(config_class(**settings))


IMAGE_PRETEXTS = ("patch_position", "contrastive")


@dataclass(frozen=True)
class PretextChoice:
    """The few knobs a pipeline exposes for choosing and sizing a pretext; everything else
    keeps its config default. ``encoder`` "cnn"/"mlp" applies to the image pretexts,
    ``code_dim`` to contrastive and masked features, the patch fields to patch position."""

    pretext: str = "contrastive"
    encoder: str = "cnn"
    code_dim: int = 128
    patch_size: int = 2
    gap: int = 1
    jitter: int = 0
    upsample: int = 1
    mask_prob: float = 0.3
    temperature: float = 0.5
    seed: int = 0


def pretext_for_data(choice: PretextChoice, in_features: int,
                     image_shape: tuple[int, ...] | None) -> tuple[nn.Module, str]:
    """The pretext model for a dataset; data with no image shape falls back to masked-feature
    reconstruction (the one pretext that needs no image). Returns (model, pretext used)."""
    pretext = choice.pretext
    if pretext not in PRETEXTS:
        raise ValueError(f"pretext={pretext!r} is not one of {sorted(PRETEXTS)}")
    if pretext in IMAGE_PRETEXTS and image_shape is None:
        pretext = "masked_features"
    if pretext == "contrastive":
        config = ContrastiveConfig(image_shape=tuple(image_shape), encoder=choice.encoder,
                                   code_dim=choice.code_dim, temperature=choice.temperature,
                                   seed=choice.seed)
    elif pretext == "patch_position":
        grid = PatchGrid(tuple(image_shape), choice.patch_size, choice.gap, choice.jitter,
                         choice.upsample)
        config = PatchPositionConfig(grid=grid, encoder=choice.encoder, seed=choice.seed)
    else:
        config = MaskedFeatureConfig(in_features=in_features, code_dim=choice.code_dim,
                                     mask_prob=choice.mask_prob, seed=choice.seed)
    return PRETEXTS[pretext][0](config), pretext
