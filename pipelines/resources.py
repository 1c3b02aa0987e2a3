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

from dagster import AssetExecutionContext, ConfigurableResource, Failure
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from pydantic import Field
from sqlalchemy import Engine, create_engine, text

import unsup_core

from .failures import DETERMINISTIC_ERRORS
from .tracking import MAX_TAG_LENGTH, AssetRun

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STORE = REPO_ROOT / "mlflow"
TAG_RUN_ID = "dagster.run_id"
TAG_LEVEL = "dagster.level"
TAG_ASSET = "dagster.asset_key"
TAG_STEP = "dagster.step_key"
# Dagster run tags copied onto the parent MLflow run: what triggered it (schedule, sensor and
# the incoming file, preset), so runs can be filtered by it in the MLflow UI.
TRIGGER_TAGS = ("unsup/", "dagster/schedule_name", "dagster/sensor_name")
LOCK_DATABASE_ENV = "UNSUP_LOCK_DATABASE_URL"
# Which worker ran a step (tagged on its MLflow run): $UNSUP_WORKER_NAME, else the host name.
WORKER_NAME = os.environ.get("UNSUP_WORKER_NAME") or socket.gethostname()

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


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
    ui_url: str = Field(default="http://127.0.0.1:5000", description="MLflow UI base URL for links")

    def resolved_tracking_uri(self) -> str:
        return self.tracking_uri or default_tracking_uri()

    def client(self) -> MlflowClient:
        uri = self.resolved_tracking_uri()
        if uri.startswith("sqlite:///"):
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return MlflowClient(tracking_uri=uri)

    def experiment_id(self, client: MlflowClient) -> str:
        """The experiment's id, creating it (artifacts under ``artifact_root``) if needed."""
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is not None:
            return experiment.experiment_id
        location = None  # a tracking server stores artifacts where it was told to
        if self.artifact_root or not self.resolved_tracking_uri().startswith(
            ("http://", "https://")
        ):
            root = Path(self.artifact_root or DEFAULT_STORE / "artifacts").resolve()
            root.mkdir(parents=True, exist_ok=True)
            location = root.as_uri()
        try:
            return client.create_experiment(self.experiment_name, artifact_location=location)
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
            client, experiment_id, dagster_run.run_id, dagster_run.job_name, trigger_tags
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
        run = client.create_run(experiment_id, tags=tags, run_name=asset_key)
        client.update_run(parent_id, status="RUNNING")
        asset_run = AssetRun(
            client, run.info.run_id, experiment_id, self.experiment_name, self.ui_url, tags
        )
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
        self._end(client, run.info.run_id, parent_id, "FINISHED")

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
            run_id = client.create_run(experiment_id, tags=tags, run_name=step_key).info.run_id
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
            created = client.create_run(
                experiment_id, tags=tags, run_name=f"{job_name}-{dagster_run_id[:8]}"
            ).info.run_id
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
