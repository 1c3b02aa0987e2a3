"""Models pass between assets as checkpoints (class, config, state dict), never as pickles."""

from collections.abc import Mapping
from pathlib import Path

import torch
from dagster import ConfigurableIOManager, InitResourceContext, InputContext, OutputContext
from pydantic import Field, PrivateAttr
from torch import nn

from unsup_core.serialization import from_checkpoint, to_checkpoint


class TorchModelIOManager(ConfigurableIOManager):
    """Stores each model asset as ``<base_dir>/<asset key>.pt`` and loads it with
    ``torch.load(weights_only=True)`` (no code from the file runs). An asset may be one model
    or a dict of named models (a zoo)."""

    base_dir: str = Field(default="", description="Directory; empty means the Dagster instance's "
                          "storage directory under models/")
    _base: Path = PrivateAttr()

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._base = Path(self.base_dir) if self.base_dir else (
            Path(context.instance.storage_directory()) / "models")

    def _path(self, key: list[str]) -> Path:
        return self._base.joinpath(*key).with_suffix(".pt")

    def handle_output(self, context: OutputContext, obj: nn.Module | Mapping[str, nn.Module]) -> None:
        path = self._path(context.asset_key.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        payload = ({"models": {name: to_checkpoint(m) for name, m in obj.items()}}
                   if isinstance(obj, Mapping) else to_checkpoint(obj))
        torch.save(payload, temporary)
        temporary.replace(path)  # atomic: a reader never sees half a file
        context.add_output_metadata({"checkpoint_path": str(path)})

    def load_input(self, context: InputContext) -> nn.Module | dict[str, nn.Module]:
        path = self._path(context.asset_key.path)
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if "models" in payload:
            return {name: from_checkpoint(c) for name, c in payload["models"].items()}
        return from_checkpoint(payload)
