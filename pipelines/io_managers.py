"""Run-scoped storage of asset values: ``<base>/<asset key>/<dagster run id>.<ext>``.

The base is a URI: a local folder (the default: the Dagster instance's storage directory) or
object storage (``s3://bucket/prefix``, the cluster profile: ``$UNSUP_STORAGE_URI``), read and
written through fsspec (universal-pathlib), so a step on another machine finds its inputs.
Each run writes its own object, so two runs at once (a schedule and a sensor, say) never read
each other's models, and an earlier run's values stay as they were. An input comes from the
object its upstream step wrote in this run; when that step is not part of this run, from the URI
recorded on the asset's latest materialisation. Recorded metadata are URIs, never local paths.
"""

import io
import os
import pickle
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from dagster import ConfigurableIOManager, InitResourceContext, InputContext, OutputContext
from dagster._check import CheckError
from dagster._core.errors import DagsterInvariantViolationError
from pydantic import Field, PrivateAttr
from torch import nn
from upath import UPath

from unsup_core.applicability import NotApplicable
from unsup_core.serialization import from_checkpoint, to_checkpoint

URI_METADATA_KEY = "stored_uri"
STORAGE_ENV = "UNSUP_STORAGE_URI"


def storage_uri(path: UPath) -> str:
    """A stored object's URI: ``file:///...`` for a local file, ``s3://...`` for an object."""
    return path.as_uri() if path.protocol in ("", "file", "local") else str(path)


class RunScopedIOManager(ConfigurableIOManager):
    """Base: one object per asset and run; subclasses say how a value becomes bytes."""

    base_uri: str = Field(
        default="",
        description="Folder or object-store prefix (s3://bucket/prefix); empty means "
        f"${STORAGE_ENV}, else the Dagster instance's storage directory",
    )
    _base: UPath = PrivateAttr()
    extension: ClassVar[str] = ".bin"
    subdirectory: ClassVar[str] = "values"

    def setup_for_execution(self, context: InitResourceContext) -> None:
        configured = self.base_uri or os.environ.get(STORAGE_ENV, "")
        self._base = (
            UPath(configured) / self.subdirectory
            if configured
            else UPath(context.instance.storage_directory()) / self.subdirectory
        )

    @abstractmethod
    def dumps(self, obj: Any) -> bytes: ...

    @abstractmethod
    def loads(self, data: bytes) -> Any: ...

    def path(self, key: list[str], run_id: str) -> UPath:
        return self._base.joinpath(*key, f"{run_id}{self.extension}")

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self.path(context.asset_key.path, context.run_id)
        data = self.dumps(obj)
        if storage_uri(path).startswith("file:"):  # a reader never sees half a local file
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(data)
            temporary.replace(path)
        else:  # one PUT: an object appears whole or not at all
            path.write_bytes(data)
        context.add_output_metadata({URI_METADATA_KEY: storage_uri(path)})

    def load_input(self, context: InputContext) -> Any:
        key = context.asset_key
        upstream_run = _upstream_run_id(context)
        if upstream_run is not None and (path := self.path(key.path, upstream_run)).is_file():
            context.add_input_metadata({URI_METADATA_KEY: storage_uri(path)})
            return self.loads(path.read_bytes())
        event = context.instance.get_latest_materialization_event(key)
        recorded = None
        if event is not None and event.asset_materialization is not None:
            value = event.asset_materialization.metadata.get(URI_METADATA_KEY)
            recorded = UPath(value.value) if value is not None else None
        if recorded is None or not recorded.is_file():
            raise FileNotFoundError(
                f"no stored value for asset {key.to_user_string()!r} (looked for "
                f"{recorded or self._base.joinpath(*key.path)}); materialise it first"
            )
        context.add_input_metadata({URI_METADATA_KEY: storage_uri(recorded)})
        return self.loads(recorded.read_bytes())


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

    def dumps(self, obj: nn.Module | Mapping[str, nn.Module] | NotApplicable) -> bytes:
        if isinstance(obj, NotApplicable):
            payload: dict = {"not_applicable": obj.reason}
        elif isinstance(obj, Mapping):
            payload = {"models": {name: to_checkpoint(m) for name, m in obj.items()}}
        else:
            payload = to_checkpoint(obj)
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        return buffer.getvalue()

    def loads(self, data: bytes) -> nn.Module | dict[str, nn.Module] | NotApplicable:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        if "not_applicable" in payload:
            return NotApplicable(payload["not_applicable"])
        if "models" in payload:
            return {name: from_checkpoint(c) for name, c in payload["models"].items()}
        return from_checkpoint(payload)


class PickleIOManager(RunScopedIOManager):
    """Datasets and fitted numpy estimators (our own classes, written by this pipeline)."""

    extension: ClassVar[str] = ".pkl"
    subdirectory: ClassVar[str] = "values"

    def dumps(self, obj: Any) -> bytes:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)

    def loads(self, data: bytes) -> Any:
        return pickle.loads(data)
