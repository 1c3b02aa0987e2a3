"""Checkpoints: a model's class name, config and state dict, loadable with weights_only=True."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from .autoencoders import Autoencoder, AutoencoderConfig

# Explicit table of what a checkpoint may rebuild: class name -> (model class, config class).
MODEL_CLASSES: dict[str, tuple[type[nn.Module], type]] = {
    "Autoencoder": (Autoencoder, AutoencoderConfig),
}


def to_checkpoint(model: nn.Module) -> dict:
    """``{"kind", "config", "state_dict"}`` of a model that has a dataclass ``config``."""
    kind = type(model).__name__
    if kind not in MODEL_CLASSES:
        raise ValueError(f"model class {kind!r} is not checkpointable; known: {sorted(MODEL_CLASSES)}")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return {"kind": kind, "config": asdict(model.config), "state_dict": state}


def from_checkpoint(checkpoint: Mapping, device: str = "cpu") -> nn.Module:
    kind = checkpoint.get("kind")
    if kind not in MODEL_CLASSES:
        raise ValueError(f"checkpoint kind {kind!r} is not one of {sorted(MODEL_CLASSES)}")
    model_class, config_class = MODEL_CLASSES[kind]
    model = model_class(config_class(**checkpoint["config"]))
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
