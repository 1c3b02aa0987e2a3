"""The MLflow tracking resource: one MLflow run per asset materialisation, nested under one
parent run per Dagster run, ended FINISHED, FAILED or KILLED, never left RUNNING."""

import hashlib
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, ConfigurableResource, Failure
from mlflow.entities import Param
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from pydantic import Field
from sqlalchemy import Engine, create_engine, text

import unsup_core

from .experiment_history import HEADLINES
from .failures import DETERMINISTIC_ERRORS
from .presets import config_hash, data_source, load_preset, preset_names
from .tags import (
    TAG_ASSET,
    TAG_CONFIG_HASH,
    TAG_DATA,
    TAG_LEVEL,
    TAG_PRESET,
    TAG_RUN_ID,
    TAG_STEP,
)
from .tracking import MAX_PARAM_LENGTH, MAX_TAG_LENGTH, AssetRun, flatten

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STORE = REPO_ROOT / "mlflow"
# Dagster run tags copied onto the parent MLflow run: what triggered it (schedule, sensor and
# the incoming file, preset), so runs can be filtered by it in the MLflow UI.
TRIGGER_TAGS = ("unsup/", "dagster/schedule_name", "dagster/sensor_name")
# MLflow 3 opens an experiment without a kind in its GenAI view (traces); this is model training.
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"
LOCK_DATABASE_ENV = "UNSUP_LOCK_DATABASE_URL"
# Which worker ran a step (tagged on its MLflow run): $UNSUP_WORKER_NAME, else the host name.
WORKER_NAME = os.environ.get("UNSUP_WORKER_NAME") or socket.gethostname()

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


LOCAL_UI_URL = "http://127.0.0.1:5000"  # where `make ui` serves MLflow


def default_tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{DEFAULT_STORE / 'mlflow.db'}"


class MlflowTracking(ConfigurableResource):
    """MLflow tracking for assets. Use ``with mlflow.asset_run(context, params) as run:``."""

    tracking_uri: str = Field(
        default="",
        description="Tracking URI; empty means $MLFLOW_TRACKING_URI "
        "or sqlite:///<repo>/mlflow/mlflow.db",
    )
    artifact_root: str = Field(
        default="",
        description="Artifact directory for new experiments; empty means <repo>/mlflow/artifacts",
    )
    experiment_name: str = Field(default="unsup-pipeline", description="MLflow experiment")
    ui_url: str = Field(
        default="",
        description="MLflow UI base URL for links and inline figures; empty means the tracking "
        "URI when it is an MLflow server (http/https), else http://127.0.0.1:5000 (make ui)",
    )

    def resolved_tracking_uri(self) -> str:
        return self.tracking_uri or default_tracking_uri()

    def resolved_ui_url(self) -> str:
        if self.ui_url:
            return self.ui_url
        uri = self.resolved_tracking_uri()
        return uri.rstrip("/") if uri.startswith(("http://", "https://")) else LOCAL_UI_URL

    def client(self) -> MlflowClient:
        uri = self.resolved_tracking_uri()
        if uri.startswith("sqlite:///"):
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return MlflowClient(tracking_uri=uri)

    def experiment_id(self, client: MlflowClient) -> str:
        """The experiment's id, creating it (artifacts under ``artifact_root``) if needed."""
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is not None:
            if experiment.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
                client.set_experiment_tag(
                    experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND
                )
            return experiment.experiment_id
        location = None  # a tracking server stores artifacts where it was told to
        if self.artifact_root or not self.resolved_tracking_uri().startswith(
            ("http://", "https://")
        ):
            root = Path(self.artifact_root or DEFAULT_STORE / "artifacts").resolve()
            root.mkdir(parents=True, exist_ok=True)
            location = root.as_uri()
        try:
            return client.create_experiment(
                self.experiment_name,
                artifact_location=location,
                tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND},
            )
        except MlflowException:  # created concurrently by another step
            return client.get_experiment_by_name(self.experiment_name).experiment_id

    @contextmanager
    def asset_run(
        self, context: AssetExecutionContext, params: Mapping[str, Any] | None = None
    ) -> Iterator[AssetRun]:
        """A child run for this materialisation; FAILED (and the parent FAILED) if the block
        raises."""
        client = self.client()
        experiment_id = self.experiment_id(client)
        dagster_run = context.run
        trigger_tags = {k: v for k, v in dagster_run.tags.items() if k.startswith(TRIGGER_TAGS)}
        parent_id = self._parent_run(
            client,
            experiment_id,
            dagster_run.run_id,
            dagster_run.job_name,
            {**trigger_tags, **run_identity(dagster_run.run_config or {}, dagster_run.tags)},
            run_params(dagster_run.run_config or {}),
        )
        asset_key = context.asset_key.to_user_string()
        tags = {
            TAG_STEP: context.get_step_execution_context().step.key,
            "mlflow.parentRunId": parent_id,
            TAG_RUN_ID: dagster_run.run_id,
            TAG_LEVEL: "asset",
            TAG_ASSET: asset_key,
            "dagster.job": dagster_run.job_name,
            "dagster.partition": context.partition_key if context.has_partition_key else "",
            "dagster.code_version": _code_version(context),
            "dagster.retry_number": str(context.retry_number),
            "unsup.worker": f"{WORKER_NAME}/{os.getpid()}",
            "unsup_core.version": unsup_core.__version__,
        }
        run = client.create_run(
            experiment_id, tags=tags, run_name=f"{asset_key} · {dagster_run.run_id[:8]}"
        )
        client.update_run(parent_id, status="RUNNING")
        asset_run = AssetRun(
            client,
            run.info.run_id,
            experiment_id,
            self.experiment_name,
            self.resolved_ui_url(),
            tags,
        )
        asset_run.attach_progress(context.log, asset_key)
        try:
            if params:
                asset_run.log_params(params)
            yield asset_run
        except Exception as error:
            asset_run.record_error(error)
            self._end(client, run.info.run_id, parent_id, "FAILED")
            if isinstance(error, DETERMINISTIC_ERRORS):
                raise Failure(
                    f"{type(error).__name__}: {error}",
                    allow_retries=False,
                    metadata={"mlflow_run_id": run.info.run_id},
                ) from error
            raise
        except BaseException:  # interrupted or terminated
            self._end(client, run.info.run_id, parent_id, "KILLED")
            raise
        summarize_on_parent(client, parent_id, asset_key, asset_run)
        self._end(client, run.info.run_id, parent_id, "FINISHED")

    def training_run(self, context: AssetExecutionContext, asset: str) -> AssetRun | None:
        """The MLflow run of ``asset``'s latest materialisation (its metadata names it): where
        a model was trained, so a registered version points there; None if not found."""
        event = context.instance.get_latest_materialization_event(AssetKey(asset))
        entry = event.asset_materialization.metadata.get("mlflow_run_id") if event else None
        if entry is None:
            return None
        run_id = str(entry.value)
        return AssetRun(self.client(), run_id, "", self.experiment_name, self.resolved_ui_url())

    def mark_step_failed(
        self, dagster_run_id: str, job_name: str, step_key: str, message: str
    ) -> str:
        """Record a step that failed outside ``asset_run`` (loading an input, storing the output,
        a blocking check): its latest child run, or a new one, ends FAILED, and so does the
        parent. Called by the job's failure hook. Returns the child run id."""
        client = self.client()
        experiment_id = self.experiment_id(client)
        parent_id = self._parent_run(client, experiment_id, dagster_run_id, job_name)
        found = client.search_runs(
            [experiment_id],
            max_results=1,
            order_by=["attributes.start_time DESC"],
            filter_string=f"tags.`{TAG_RUN_ID}` = '{dagster_run_id}' and "
            f"tags.`{TAG_STEP}` = '{step_key}'",
        )
        if found and found[0].info.status in ("FAILED", "KILLED"):
            return found[0].info.run_id  # asset_run has already recorded the error
        if found:
            run_id = found[0].info.run_id
        else:
            tags = {
                "mlflow.parentRunId": parent_id,
                TAG_RUN_ID: dagster_run_id,
                TAG_LEVEL: "asset",
                TAG_ASSET: step_key,
                TAG_STEP: step_key,
                "dagster.job": job_name,
            }
            run_id = client.create_run(
                experiment_id, tags=tags, run_name=f"{step_key} · {dagster_run_id[:8]}"
            ).info.run_id
        client.set_tag(run_id, "error", message[:MAX_TAG_LENGTH])
        self._end(client, run_id, parent_id, "FAILED")
        return run_id

    def close_open_runs(
        self,
        dagster_run_id: str,
        status: str,
        reason: str,
        extra_tags: Mapping[str, str] | None = None,
    ) -> list[str]:
        """End every MLflow run of a Dagster run that is still RUNNING (a step killed before its
        run could end it: a lost worker, a hard kill) as ``status``, tagged with ``reason``;
        returns their ids."""
        client = self.client()
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            return []
        open_runs = client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.`{TAG_RUN_ID}` = '{dagster_run_id}' and "
            "attributes.status = 'RUNNING'",
            max_results=1000,
        )
        for run in open_runs:
            client.set_tag(run.info.run_id, "error", reason[:MAX_TAG_LENGTH])
            for key, value in (extra_tags or {}).items():
                client.set_tag(run.info.run_id, key, value)
            client.set_terminated(run.info.run_id, status)
        return [run.info.run_id for run in open_runs]

    def _parent_run(
        self,
        client: MlflowClient,
        experiment_id: str,
        dagster_run_id: str,
        job_name: str,
        extra_tags: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """The one parent run of this Dagster run, wherever its steps run: found by tag, or
        created. On a cluster ($UNSUP_LOCK_DATABASE_URL) find-or-create holds an advisory lock
        on its PostgreSQL, so steps on different hosts never create two. Without one (the
        local profile: one host, one clock) steps that create at once settle on the oldest
        parent and delete their own; no lock file is involved either way."""
        with database_lock(f"{self.resolved_tracking_uri()}|{dagster_run_id}"):
            parents = _parent_runs(client, experiment_id, dagster_run_id)
            if parents:
                return parents[0]
            tags = {
                TAG_RUN_ID: dagster_run_id,
                TAG_LEVEL: "run",
                "dagster.job": job_name,
                "unsup_core.version": unsup_core.__version__,
                **(extra_tags or {}),
            }
            name = f"{job_name} · {tags.get(TAG_PRESET, 'run')} · {dagster_run_id[:8]}"
            created = client.create_run(experiment_id, tags=tags, run_name=name).info.run_id
            if params:  # the run config, so two pipeline runs compare field by field
                client.log_batch(
                    created,
                    params=[Param(k, str(v)[:MAX_PARAM_LENGTH]) for k, v in sorted(params.items())],
                )
        oldest = _parent_runs(client, experiment_id, dagster_run_id)[0]
        if oldest != created:
            client.delete_run(created)
        return oldest

    @staticmethod
    def _end(client: MlflowClient, run_id: str, parent_id: str, status: str) -> None:
        client.set_terminated(run_id, status)
        overall = parent_status(client, parent_id)
        if overall != "RUNNING":
            client.set_terminated(parent_id, overall)


def run_identity(run_config: Mapping[str, Any], tags: Mapping[str, str]) -> dict[str, str]:
    """The parent run's preset, data source and config hash (from the Dagster run's tags
    ``unsup/preset`` and ``unsup/data`` when set, else from the run config). A named preset
    whose config was edited in the launchpad is recorded as ``<preset> (edited)``."""
    preset = tags.get("unsup/preset", "custom")
    if preset in preset_names() and _settings(load_preset(preset)) != _settings(run_config):
        preset = f"{preset} (edited)"  # launched from a preset's job with its config changed
    return {
        TAG_PRESET: preset,
        TAG_DATA: tags.get("unsup/data") or data_source(run_config),
        TAG_CONFIG_HASH: config_hash(run_config),
    }


def _settings(run_config: Mapping[str, Any]) -> str:
    """The run config's hash without the data source (tagged apart)."""
    ops = {k: v for k, v in run_config.get("ops", {}).items() if k != "raw_dataset"}
    return config_hash({"ops": ops})


def run_params(run_config: Mapping[str, Any]) -> dict[str, Any]:
    """Every asset's config as flat params, ``<asset>.<field>`` (``ops.*.config`` dropped)."""
    ops = {name: op.get("config", {}) for name, op in run_config.get("ops", {}).items()}
    return flatten({k: v for k, v in ops.items() if v})


def summarize_on_parent(
    client: MlflowClient, parent_id: str, asset_key: str, run: AssetRun
) -> None:
    """An asset's headline metrics (``pipelines.experiment_history.HEADLINES``) and its key
    figure (``plots/<asset>.png``) also on the parent run, so two pipeline runs compare in one
    view: the same metric names and the same artifact paths on every parent."""
    values = {h.column: h.value(run.metrics) for h in HEADLINES if h.asset == asset_key}
    run_on_parent = AssetRun(client, parent_id, "", "", "", {})
    run_on_parent.log_metrics({k: v for k, v in values.items() if v is not None})
    key_figure = run.key_figure()
    if key_figure is not None:
        run_on_parent.log_bytes(key_figure, f"plots/{asset_key}.png")


def parent_status(client: MlflowClient, parent_id: str) -> str:
    """A parent's status from its children's: the latest run of each asset counts (a retried
    asset that then succeeded is not a failure). RUNNING while any child runs."""
    parent = client.get_run(parent_id)
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'",
        order_by=["attributes.start_time ASC"],
        max_results=5000,
    )
    latest: dict[str, str] = {}
    for child in children:
        latest[child.data.tags.get(TAG_ASSET, child.info.run_id)] = child.info.status
    statuses = set(latest.values())
    for status in ("RUNNING", "FAILED", "KILLED"):
        if status in statuses:
            return status
    return "FINISHED"


def _code_version(context: AssetExecutionContext) -> str:
    version = context.assets_def.code_versions_by_key.get(context.asset_key)
    return version or ""


def _parent_runs(client: MlflowClient, experiment_id: str, dagster_run_id: str) -> list[str]:
    """Ids of this Dagster run's parent runs, oldest first (ties by id)."""
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{TAG_RUN_ID}` = '{dagster_run_id}' and tags.`{TAG_LEVEL}` = 'run'",
        max_results=100,
    )
    return [r.info.run_id for r in sorted(found, key=lambda r: (r.info.start_time, r.info.run_id))]


@cache
def _lock_engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def database_lock(name: str) -> Iterator[None]:
    """A PostgreSQL advisory lock named ``name`` for the block, on $UNSUP_LOCK_DATABASE_URL
    (``postgresql+psycopg2://...``); a no-op when that is not set."""
    url = os.environ.get(LOCK_DATABASE_ENV)
    if not url:
        yield
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with _lock_engine(url).begin() as connection:  # released when the transaction ends
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        yield


__all__ = ["MlflowTracking", "database_lock", "default_tracking_uri", "parent_status"]
