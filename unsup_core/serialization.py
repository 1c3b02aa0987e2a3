"""Checkpoints: a model's class name, config (and parts) and state dict, loadable with
``torch.load(weights_only=True)``.

A network made of parts (``CHILDREN``: an encoder with a head, a stack on a base encoder)
stores each part's class and config under ``"children"``; loading rebuilds the parts first,
then the whole from them. Only the classes of :data:`MODEL_CLASSES` can be rebuilt.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .validation import build_config

# The explicit table of what a checkpoint may rebuild: class name -> (module, config class).
# Modules are imported on demand, so loading one kind never imports the others.
MODEL_CLASSES: dict[str, tuple[str, str | None]] = {
    "Autoencoder": ("unsup_core.autoencoders.plain", "AutoencoderConfig"),
    "LinearAutoencoder": ("unsup_core.autoencoders.linear", "LinearAutoencoderConfig"),
    "SparseAutoencoder": ("unsup_core.autoencoders.sparse", "SparseAutoencoderConfig"),
    "DenoisingAutoencoder": ("unsup_core.autoencoders.denoising", "DenoisingAutoencoderConfig"),
    "ContractiveAutoencoder": ("unsup_core.autoencoders.contractive", "ContractiveAutoencoderConfig"),
    "RelationalAutoencoder": ("unsup_core.autoencoders.relational", "RelationalAutoencoderConfig"),
    "VariationalAutoencoder": ("unsup_core.autoencoders.variational", "VariationalAutoencoderConfig"),
    "LabelRegularizedAutoencoder": ("unsup_core.autoencoders.label_regularized",
                                    "LabelRegularizedAutoencoderConfig"),
    "StackedEncoder": ("unsup_core.stacked", "StackedAutoencoderConfig"),
    "DeepAutoencoder": ("unsup_core.stacked", "StackedAutoencoderConfig"),
    "EncoderClassifier": ("unsup_core.transfer.classifier", "EncoderClassifierConfig"),
    "StackedOnEncoder": ("unsup_core.stacked", None),
    "PatchPositionModel": ("unsup_core.selfsupervised.position", "PatchPositionConfig"),
    "MaskedFeatureModel": ("unsup_core.selfsupervised.masked", "MaskedFeatureConfig"),
    "ContrastiveModel": ("unsup_core.selfsupervised.contrastive", "ContrastiveConfig"),
    "MLPClassifier": ("unsup_core.distillation.models", "MLPClassifierConfig"),
    "JointPrivilegedModel": ("unsup_core.distillation.privileged", "JointPrivilegedConfig"),
    "Generator": ("unsup_core.generative.networks", "GeneratorConfig"),
    "Discriminator": ("unsup_core.generative.networks", "DiscriminatorConfig"),
}


def model_classes(kind: str) -> tuple[type[nn.Module], type | None]:
    """(model class, config class or None for a pure composition) of a checkpoint kind."""
    if kind not in MODEL_CLASSES:
        raise ValueError(f"model kind {kind!r} is not one of {sorted(MODEL_CLASSES)}")
    module_name, config_name = MODEL_CLASSES[kind]
    module = importlib.import_module(module_name)
    return getattr(module, kind), getattr(module, config_name) if config_name else None


def describe(model: nn.Module) -> dict[str, Any]:
    """``{"kind", "config", "children"}``: what rebuilds ``model``'s architecture."""
    kind = type(model).__name__
    if kind not in MODEL_CLASSES:
        raise ValueError(f"model class {kind!r} is not checkpointable; known: {sorted(MODEL_CLASSES)}")
    config = getattr(model, "config", None)
    return {"kind": kind, "config": asdict(config) if config is not None else {},
            "children": {name: describe(getattr(model, name))
                         for name in getattr(model, "CHILDREN", ())}}


def build_model(description: Mapping[str, Any]) -> nn.Module:
    """A freshly initialised model from :func:`describe`'s output (parts first)."""
    model_class, config_class = model_classes(description.get("kind"))
    children = {name: build_model(child)
                for name, child in description.get("children", {}).items()}
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
