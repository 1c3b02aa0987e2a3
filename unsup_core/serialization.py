"""Checkpoints: a model's class name, config (and parts) and state dict, loadable with
``torch.load(weights_only=True)``.

A network made of parts (``CHILDREN``: an encoder with a head, a stack on a base encoder)
stores each part's class and config under ``"children"``; loading rebuilds the parts first,
then the whole from them. Only the classes of :data:`MODEL_CLASSES` can be rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .autoencoders import (
    Autoencoder,
    AutoencoderConfig,
    ContractiveAutoencoder,
    ContractiveAutoencoderConfig,
    DenoisingAutoencoder,
    DenoisingAutoencoderConfig,
    LabelRegularizedAutoencoder,
    LabelRegularizedAutoencoderConfig,
    LinearAutoencoder,
    LinearAutoencoderConfig,
    RelationalAutoencoder,
    RelationalAutoencoderConfig,
    SparseAutoencoder,
    SparseAutoencoderConfig,
    VariationalAutoencoder,
    VariationalAutoencoderConfig,
)
from .distillation import (
    JointPrivilegedConfig,
    JointPrivilegedModel,
    MLPClassifier,
    MLPClassifierConfig,
)
from .generative import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from .selfsupervised import (
    ContrastiveConfig,
    ContrastiveModel,
    MaskedFeatureConfig,
    MaskedFeatureModel,
    PatchPositionConfig,
    PatchPositionModel,
)
from .stacked import DeepAutoencoder, StackedAutoencoderConfig, StackedEncoder, StackedOnEncoder
from .transfer import EncoderClassifier, EncoderClassifierConfig
from .validation import build_config

# The explicit table of what a checkpoint may rebuild: class name -> (class, config class, or
# None for a pure composition of parts). Nothing else can be built from a file.
MODEL_CLASSES: dict[str, tuple[type[nn.Module], type | None]] = {
    model_class.__name__: (model_class, config_class)
    for model_class, config_class in (
        (Autoencoder, AutoencoderConfig),
        (LinearAutoencoder, LinearAutoencoderConfig),
        (SparseAutoencoder, SparseAutoencoderConfig),
        (DenoisingAutoencoder, DenoisingAutoencoderConfig),
        (ContractiveAutoencoder, ContractiveAutoencoderConfig),
        (RelationalAutoencoder, RelationalAutoencoderConfig),
        (VariationalAutoencoder, VariationalAutoencoderConfig),
        (LabelRegularizedAutoencoder, LabelRegularizedAutoencoderConfig),
        (StackedEncoder, StackedAutoencoderConfig),
        (DeepAutoencoder, StackedAutoencoderConfig),
        (EncoderClassifier, EncoderClassifierConfig),
        (StackedOnEncoder, None),
        (PatchPositionModel, PatchPositionConfig),
        (MaskedFeatureModel, MaskedFeatureConfig),
        (ContrastiveModel, ContrastiveConfig),
        (MLPClassifier, MLPClassifierConfig),
        (JointPrivilegedModel, JointPrivilegedConfig),
        (Generator, GeneratorConfig),
        (Discriminator, DiscriminatorConfig),
    )
}


def model_classes(kind: str) -> tuple[type[nn.Module], type | None]:
    """(model class, config class or None for a pure composition) of a checkpoint kind."""
    if kind not in MODEL_CLASSES:
        raise ValueError(f"model kind {kind!r} is not one of {sorted(MODEL_CLASSES)}")
    return MODEL_CLASSES[kind]


def describe(model: nn.Module) -> dict[str, Any]:
    """``{"kind", "config", "children"}``: what rebuilds ``model``'s architecture."""
    kind = type(model).__name__
    if kind not in MODEL_CLASSES:
        raise ValueError(
            f"model class {kind!r} is not checkpointable; known: {sorted(MODEL_CLASSES)}"
        )
    config = getattr(model, "config", None)
    return {
        "kind": kind,
        "config": asdict(config) if config is not None else {},
        "children": {
            name: describe(getattr(model, name)) for name in getattr(model, "CHILDREN", ())
        },
    }


def build_model(description: Mapping[str, Any]) -> nn.Module:
    """A freshly initialised model from :func:`describe`'s output (parts first)."""
    model_class, config_class = model_classes(description.get("kind"))
    children = {name: build_model(child) for name, child in description.get("children", {}).items()}
    if children:
        return model_class(**children, **description["config"])
    return model_class(build_config(config_class, description["config"]))


def to_checkpoint(model: nn.Module) -> dict:
    """``{"kind", "config", "children", "state_dict"}`` of a model built from a dataclass
    ``config`` (and parts)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return {**describe(model), "state_dict": state}


def from_checkpoint(checkpoint: Mapping, device: str = "cpu") -> nn.Module:
    model = build_model(checkpoint)
    model.load_state_dict(checkpoint["state_dict"])
    return model.to(device)


def save_checkpoint(model: nn.Module, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(to_checkpoint(model), path)
    return path


def load_checkpoint(path: str | Path, device: str = "cpu") -> nn.Module:
    """Load with ``torch.load(weights_only=True)``: no arbitrary code runs from the file."""
    return from_checkpoint(torch.load(Path(path), map_location="cpu", weights_only=True), device)
