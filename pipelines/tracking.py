"""One MLflow run, driven through an explicit client and run id (never mlflow's global run)."""

from __future__ import annotations

import io
import json
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from dagster import MetadataValue
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from unsup_core.results import ExperimentResult
from unsup_core.serialization import to_checkpoint
from unsup_core.training import Callback, EpochLog, TrainingHistory

from .progress import EpochProgress, Throttled
from .reporting import markdown_table
from .ui_metadata import figure_metadata, mlflow_artifact_url

MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value
MAX_TAG_LENGTH = 5000
PARAMS_PER_BATCH = 100  # MLflow's limits per log_batch call
METRICS_PER_BATCH = 1000


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}} -> {"a.b": 1}``: nested configs become dotted MLflow param keys."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def png_bytes(figure) -> bytes:
    """Render a matplotlib Figure to PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)  # constrained layout already fits the page
    return buffer.getvalue()


class AssetRun:
    """Logging into one MLflow run: params, batched metrics, artifacts, and Dagster metadata
    (run id, experiment, UI link and inline plots) that links the materialisation back."""

    def __init__(
        self,
        client: MlflowClient,
        run_id: str,
        experiment_id: str,
        experiment_name: str,
        ui_url: str,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.tags = dict(tags or {})
        self._progress_log: Any = None
        self._progress_what = ""
        self._grid_progress: Throttled | None = None
        self.experiment_id = experiment_id
        self.experiment_name = experiment_name
        self.ui_url = ui_url
        self.url = f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
        self._plots: dict[str, bytes] = {}
        self.metrics: dict[str, float] = {}

    def record_error(self, error: BaseException) -> None:
        """Tag the run with the error that ended it (type and message)."""
        self.client.set_tag(
            self.run_id, "error", f"{type(error).__name__}: {error}"[:MAX_TAG_LENGTH]
        )

    def set_tags(self, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, str(value))

    def log_params(self, params: Mapping[str, Any]) -> None:
        items = [Param(k, str(v)[:MAX_PARAM_LENGTH]) for k, v in flatten(params).items()]
        for i in range(0, len(items), PARAMS_PER_BATCH):
            self.client.log_batch(self.run_id, params=items[i : i + PARAMS_PER_BATCH])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log scalars (one batched call); the last value of each is kept for the summary."""
        now = int(time.time() * 1000)
        self.log_metric_records([Metric(k, float(v), now, step) for k, v in metrics.items()])

    def log_metric_records(self, records: list[Metric]) -> None:
        for i in range(0, len(records), METRICS_PER_BATCH):
            self.client.log_batch(self.run_id, metrics=records[i : i + METRICS_PER_BATCH])
        self.metrics.update({m.key: m.value for m in records})

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        path = Path(artifact_file)
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / path.name
            local.write_bytes(data)
            self.client.log_artifact(
                self.run_id, str(local), str(path.parent) if path.parent.name else None
            )

    def log_dict(self, data: Mapping, artifact_file: str) -> None:
        self.log_bytes(json.dumps(data, indent=2, default=str).encode(), artifact_file)

    def log_text(self, text: str, artifact_file: str) -> None:
        self.log_bytes(text.encode(), artifact_file)

    def log_figure(self, figure, name: str) -> None:
        """Save ``figure`` as ``plots/<name>.png`` and show it inline in the Dagster UI."""
        data = png_bytes(figure)
        self.log_bytes(data, f"plots/{name}.png")
        self._plots[name] = data

    def key_figure(self) -> bytes | None:
        """The PNG of the first figure logged (an asset logs its key figure first)."""
        return next(iter(self._plots.values()), None)

    def log_figures(self, figures: Mapping[str, Any]) -> None:
        """Every figure of a name -> figure mapping (``plots/<name>.png``)."""
        for name, figure in figures.items():
            self.log_figure(figure, name)

    def log_history(self, history: TrainingHistory, prefix: str = "") -> None:
        """Every epoch's terms of a finished training run, at their epochs as steps."""
        now = int(time.time() * 1000)
        self.log_metric_records(
            [
                Metric(f"{prefix}{k}", v, now, log.epoch)
                for log in history.epochs
                for k, v in log.metrics().items()
            ]
        )

    def log_table(self, rows: list[dict], name: str, columns: Any = None) -> str:
        """``<name>.md`` and ``<name>.json`` (``{"rows": rows}``); returns the Markdown."""
        columns = list(columns or dict.fromkeys(k for row in rows for k in row))
        table = markdown_table(rows, columns)
        self.log_text(table, f"{name}.md")
        self.log_dict({"rows": rows}, f"{name}.json")
        return table

    def log_result(
        self,
        result: ExperimentResult,
        figures: Mapping[str, Any] | None = None,
        columns: Mapping[str, Any] | None = None,
    ) -> dict[str, str]:
        """A recipe's result: metrics, tags, tables (Markdown returned by name, columns in the
        given order), models as checkpoints ``model/<name>.pt`` and figures."""
        self.log_metrics(result.metrics)
        self.set_tags(result.tags)
        if "world_size" in result.tags:  # trained under torchrun: the epochs came back now
            for stage, history in result.histories.items():
                self.log_history(history, stage)
        tables = {
            name: self.log_table(rows, name, (columns or {}).get(name))
            for name, rows in result.tables.items()
        }
        for name, model in result.models.items():
            self.log_model(model, f"model/{name}.pt")
        self.log_figures(figures or {})
        return tables

    def attach_progress(self, log: Any, what: str) -> None:
        """Report live progress to ``log`` (a Dagster ``context.log``) as ``what``."""
        self._progress_log, self._progress_what = log, what

    def progress_callbacks(self, stage: str) -> list[Callback]:
        """Live progress of a training stage, throttled, in the Dagster event log."""
        if self._progress_log is None:
            return []
        what = "/".join(p for p in (self._progress_what, stage.rstrip("/")) if p)
        return [EpochProgress(self._progress_log, what)]

    def progress(self, done: int, total: int, unit: str) -> None:
        """A recipe's :data:`unsup_core.training.Progress` (a loop of fits), throttled."""
        if self._progress_log is None:
            return
        if self._grid_progress is None:
            self._grid_progress = Throttled(self._progress_log, self._progress_what)
        self._grid_progress(done, total, unit)

    def stage_callbacks(self, stage: str) -> list[Callback]:
        """A recipe's callbacks for a training stage: its epochs logged under the stage prefix
        (flushed to MLflow as they come) and shown as live progress."""
        return [self.epoch_logger(stage), *self.progress_callbacks(stage)]

    def log_model(self, model: torch.nn.Module, artifact_file: str = "model/checkpoint.pt") -> None:
        """The model's class, config and state dict (load with
        ``torch.load(weights_only=True)``)."""
        buffer = io.BytesIO()
        torch.save(to_checkpoint(model), buffer)
        self.log_bytes(buffer.getvalue(), artifact_file)

    @contextmanager
    def nested(self, name: str, params: Mapping[str, Any] | None = None) -> Iterator[AssetRun]:
        """A child run of this one (e.g. one per model of a zoo), with this run's Dagster tags;
        FINISHED, or FAILED (and re-raised) if the block raises."""
        tags = {
            **self.tags,
            "mlflow.parentRunId": self.run_id,
            "dagster.level": "nested",
            "dagster.nested": name,
        }
        owner = f"{self.tags.get('dagster.asset_key', '')}/{name}".lstrip("/")
        run_name = f"{owner} · {self.tags.get('dagster.run_id', self.run_id)[:8]}"
        run = self.client.create_run(self.experiment_id, tags=tags, run_name=run_name)
        child = AssetRun(
            self.client,
            run.info.run_id,
            self.experiment_id,
            self.experiment_name,
            self.ui_url,
            tags,
        )
        try:
            if params:
                child.log_params(params)
            yield child
        except BaseException as error:
            child.record_error(error)
            self.client.set_terminated(
                child.run_id, "FAILED" if isinstance(error, Exception) else "KILLED"
            )
            raise
        self.client.set_terminated(child.run_id, "FINISHED")

    def epoch_logger(self, prefix: str = "", flush_every: int = 10) -> MlflowEpochLogger:
        return MlflowEpochLogger(self, prefix, flush_every)

    def dagster_metadata(self) -> dict[str, Any]:
        """Metadata for the materialisation: where the MLflow run is, its key figure inline
        (served by the MLflow UI at ``ui_url``) and every figure embedded (one click away);
        see :mod:`pipelines.ui_metadata`."""
        urls = {
            name: mlflow_artifact_url(self.ui_url, self.run_id, f"plots/{name}.png")
            for name in self._plots
        }
        return {
            "mlflow_run_id": self.run_id,
            "mlflow_experiment": self.experiment_name,
            "mlflow_url": MetadataValue.url(self.url),
            **figure_metadata(self._plots, urls=urls),
        }


class MlflowEpochLogger(Callback):
    """Trainer callback: buffers every epoch's terms and sends them with ``log_batch``, every
    ``flush_every`` epochs or ``flush_seconds`` (whichever comes first, so MLflow's charts grow
    while a slow model trains) and at the end (also when training fails)."""

    def __init__(
        self, run: AssetRun, prefix: str = "", flush_every: int = 10, flush_seconds: float = 5.0
    ) -> None:
        self.run, self.prefix, self.flush_every = run, prefix, flush_every
        self.flush_seconds = flush_seconds
        self._pending: list[Metric] = []
        self._flushed = time.monotonic()

    def on_epoch_end(self, log: EpochLog) -> None:
        now = int(time.time() * 1000)
        self._pending += [
            Metric(f"{self.prefix}{k}", v, now, log.epoch) for k, v in log.metrics().items()
        ]
        if log.epoch % self.flush_every == 0 or (
            time.monotonic() - self._flushed >= self.flush_seconds
        ):
            self._flush()

    def on_fit_end(self, history: TrainingHistory) -> None:
        batch_size = getattr(history, "batch_size", None)  # also when a data rule chose it
        if batch_size is not None:
            self._pending.append(
                Metric(f"{self.prefix}batch_size", batch_size, int(time.time() * 1000), 0)
            )
        self._flush()

    def _flush(self) -> None:
        self._flushed = time.monotonic()
        if self._pending:
            self.run.log_metric_records(self._pending)
            self._pending = []
