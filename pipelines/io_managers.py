"""Run-scoped storage of asset values: ``<base>/<asset key>/<dagster run id>.<ext>``.

Each run writes its own file, so two runs at once (a schedule and a sensor, say) never read each
other's models, and an earlier run's values stay as they were. An input comes from the file its
upstream step wrote in this run; when that step is not part of this run, from the path recorded
on the asset's latest materialisation.
"""

import pickle
from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from dagster import ConfigurableIOManager, InitResourceContext, InputContext, OutputContext
from dagster._check import CheckError
from dagster._core.errors import DagsterInvariantViolationError
from pydantic import Field, PrivateAttr
from torch import nn

from unsup_core.serialization import from_checkpoint, to_checkpoint

PATH_METADATA_KEY = "stored_path"


class RunScopedIOManager(ConfigurableIOManager):
    """Base: one file per asset and run; subclasses say how a value becomes bytes."""

    base_dir: str = Field(
        default="", description="Directory; empty means the Dagster instance's storage directory"
    )
    _base: Path = PrivateAttr()
    extension: ClassVar[str] = ".bin"
    subdirectory: ClassVar[str] = "values"

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._base = (
            Path(self.base_dir)
            if self.base_dir
            else (Path(context.instance.storage_directory()) / self.subdirectory)
        )

    @abstractmethod
    def dump(self, obj: Any, path: Path) -> None: ...

    @abstractmethod
    def load(self, path: Path) -> Any: ...

    def _path(self, key: list[str], run_id: str) -> Path:
        return self._base.joinpath(*key, f"{run_id}{self.extension}")

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self._path(context.asset_key.path, context.run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        self.dump(obj, temporary)
        temporary.replace(path)  # atomic: a reader never sees half a file
        context.add_output_metadata({PATH_METADATA_KEY: str(path)})

    def load_input(self, context: InputContext) -> Any:
        key = context.asset_key
        upstream_run = _upstream_run_id(context)
        if upstream_run is not None and (path := self._path(key.path, upstream_run)).is_file():
            return self.load(path)
        event = context.instance.get_latest_materialization_event(key)
        recorded = None
        if event is not None and event.asset_materialization is not None:
            value = event.asset_materialization.metadata.get(PATH_METADATA_KEY)
            recorded = Path(value.value) if value is not None else None
        if recorded is None or not recorded.is_file():
            raise FileNotFoundError(
                f"no stored value for asset {key.to_user_string()!r} (looked for "
                f"{recorded or self._base.joinpath(*key.path)}); materialise it first"
            )
        return self.load(recorded)


def _upstream_run_id(context: InputContext) -> str | None:
    try:
        upstream = context.upstream_output
        return upstream.run_id if upstream is not None else None
    except (DagsterInvariantViolationError, CheckError):
        return None


class TorchModelIOManager(RunScopedIOManager):
    """A model (or a dict of named models) as a checkpoint (class, config, state dict), loaded
    with ``torch.load(weights_only=True)``: no code from the file runs."""

    extension: ClassVar[str] = ".pt"
    subdirectory: ClassVar[str] = "models"

    def dump(self, obj: nn.Module | Mapping[str, nn.Module], path: Path) -> None:
        payload = (
            {"models": {name: to_checkpoint(m) for name, m in obj.items()}}
            if isinstance(obj, Mapping)
            else to_checkpoint(obj)
        )
        torch.save(payload, path)

    def load(self, path: Path) -> nn.Module | dict[str, nn.Module]:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if "models" in payload:
            return {name: from_checkpoint(c) for name, c in payload["models"].items()}
        return from_checkpoint(payload)


class PickleIOManager(RunScopedIOManager):
    """Datasets and fitted numpy estimators (our own classes, written by this pipeline)."""

    extension: ClassVar[str] = ".pkl"
    subdirectory: ClassVar[str] = "values"

    def dump(self, obj: Any, path: Path) -> None:
        with open(path, "wb") as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, path: Path) -> Any:
        with open(path, "rb") as handle:
            return pickle.load(handle)
