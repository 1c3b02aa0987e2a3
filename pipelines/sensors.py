"""New-data sensor: a CSV or Parquet file that appears in (or changes in) the incoming folder
launches a pipeline run with that file as the source.

The folder is ``$UNSUP_INCOMING_DIR`` (default ``<repo>/data/incoming``), a local folder or an
object-store prefix (``s3://bucket/incoming/``; versions from the store's metadata). Only regular
files directly in it count: directories, dangling links and links that lead out of the folder are
skipped with a warning. An optional
``sensor.yaml`` in it sets the preset of those runs (``preset: default``), the
``raw_dataset`` settings every file shares (``label_column``, ``image_shape``, ...) and any
other op's config (``ops: {privileged_student: {config: {privileged_columns: [...]}}}``). The cursor
records each file's version (modification time and size), so each version runs exactly once; a
malformed file fails its own run with the data error, and the sensor goes on.
"""

import json
import os
import time
from collections.abc import Sequence

import yaml
from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    RunStatusSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_status_sensor,
    sensor,
)
from upath import UPath

from .lifecycle import close_orphans, settle_run
from .presets import load_preset
from .resources import REPO_ROOT, MlflowTracking

DATA_SUFFIXES = (".csv", ".parquet")
SETTINGS_FILE = "sensor.yaml"
DEFAULT_SOURCE = {"label_column": "label"}
FAILED_STATUSES = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def incoming_dir() -> UPath:
    return UPath(os.environ.get("UNSUP_INCOMING_DIR") or REPO_ROOT / "data" / "incoming")


def file_version(path: UPath) -> str:
    """Modification time (ns) and size: from the file system, or the object store's metadata."""
    stat = path.stat()
    mtime_ns = getattr(stat, "st_mtime_ns", None) or int(stat.st_mtime * 1e9)
    return f"{mtime_ns}-{stat.st_size}"


def is_local(path: UPath) -> bool:
    return path.protocol in ("", "file", "local")


def data_files(folder: UPath, log=None) -> list[UPath]:
    """The CSV/Parquet files directly in ``folder`` that a run may read: regular files only
    (directories, dangling links and, locally, links that lead out of the folder are skipped,
    with a warning to ``log``), names not starting with "." or "_"."""
    found = []
    for path in sorted(folder.iterdir(), key=str):
        if path.suffix.lower() not in DATA_SUFFIXES or path.name.startswith((".", "_")):
            continue
        reason = None
        if is_local(path) and path.is_symlink():
            target = path.resolve()
            if not target.exists():
                reason = "a dangling link"
            elif folder.resolve() not in target.parents:
                reason = f"a link to {target}, outside the folder"
        if reason is None and not path.is_file():
            reason = "not a regular file"
        if reason is not None:
            if log is not None:
                log.warning(f"incoming_data_sensor: skipping {path}: {reason}")
            continue
        found.append(path)
    return found


def read_settings(folder: UPath) -> dict:
    """``sensor.yaml`` of the folder (``preset``, ``raw_dataset`` and ``ops`` keys), or the
    defaults."""
    path = folder / SETTINGS_FILE
    settings = yaml.safe_load(path.read_text()) if path.is_file() else {}
    settings = settings or {}
    if not isinstance(settings, dict) or set(settings) - {"preset", "raw_dataset", "ops"}:
        raise ValueError(
            f"{path}: expected a mapping with keys 'preset', 'raw_dataset' and "
            f"'ops', got {settings!r}"
        )
    return {
        "preset": settings.get("preset", "default"),
        "raw_dataset": {**DEFAULT_SOURCE, **(settings.get("raw_dataset") or {})},
        "ops": settings.get("ops") or {},
    }


def run_config_for(path: UPath, settings: dict) -> dict:
    """The preset's run config, with each op's config in ``settings['ops']`` laid over it
    (key by key) and ``raw_dataset`` reading ``path``."""
    config = load_preset(settings["preset"])
    ops = config.setdefault("ops", {})
    for op, override in settings["ops"].items():
        ops.setdefault(op, {}).setdefault("config", {}).update((override or {}).get("config", {}))
    raw = ops.setdefault("raw_dataset", {}).setdefault("config", {})
    raw.clear()
    raw.update({**settings["raw_dataset"], "source": "file", "path": str(path)})
    return config


def build_incoming_data_sensor(
    job: JobDefinition,
    folder: UPath | None = None,
    interval_seconds: int | None = None,
    settle_seconds: float = 2.0,
) -> SensorDefinition:
    """A stopped sensor on ``folder``; files younger than ``settle_seconds`` wait for the next
    tick (they may still be being written)."""
    interval = interval_seconds or int(os.environ.get("UNSUP_SENSOR_INTERVAL", "30"))

    @sensor(
        name="incoming_data_sensor",
        job=job,
        minimum_interval_seconds=interval,
        default_status=DefaultSensorStatus.STOPPED,
        description="Runs the pipeline on each new or changed CSV/Parquet file in the "
        "incoming folder ($UNSUP_INCOMING_DIR).",
    )
    def incoming_data_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
        where = UPath(folder) if folder is not None else incoming_dir()
        if not where.is_dir():
            return SkipReason(f"incoming folder {where} does not exist yet")
        try:
            settings = read_settings(where)
        except (ValueError, yaml.YAMLError) as error:
            return SkipReason(f"not launching: {error}")
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        requests, now = [], time.time()
        for path in data_files(where, context.log):
            stat = path.stat()
            version = file_version(path)
            if seen.get(path.name) == version or now - stat.st_mtime < settle_seconds:
                continue
            seen[path.name] = version
            requests.append(
                RunRequest(
                    run_key=f"{path.name}@{version}",
                    run_config=run_config_for(path, settings),
                    tags={
                        "unsup/trigger": "sensor",
                        "unsup/incoming_file": str(path),
                        "unsup/file_version": version,
                        "unsup/preset": settings["preset"],
                    },
                )
            )
        if not requests:
            return SkipReason(f"no new or changed file in {where}")
        return SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))

    return incoming_data_sensor


def build_run_settling_sensors(jobs: Sequence[JobDefinition]) -> list[SensorDefinition]:
    """Sensors (running by default; the daemon evaluates them) that settle a run once it has
    ended: on success the registry's pending candidates become champions (when every gate
    passed); on failure or cancellation they are tagged with the outcome and the MLflow runs a
    lost step left RUNNING end FAILED or KILLED (see pipelines.lifecycle.settle_run)."""

    def settler(status: DagsterRunStatus) -> SensorDefinition:
        @run_status_sensor(
            run_status=status,
            name=f"settle_on_{status.value.lower()}",
            monitored_jobs=list(jobs),
            default_status=DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=5,
            description=f"After a {status.value} run: registry candidates and open MLflow runs.",
        )
        def settle(context: RunStatusSensorContext, mlflow: MlflowTracking) -> None:
            for line in settle_run(context.instance, mlflow, context.dagster_run.run_id):
                context.log.info(line)

        return settle

    return [settler(s) for s in (DagsterRunStatus.SUCCESS, *FAILED_STATUSES)]


def build_orphaned_runs_sensor() -> SensorDefinition:
    """Closes runs left open by a killed process (see pipelines.lifecycle.close_orphans)."""

    @sensor(
        name="orphaned_runs_sensor",
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description="Marks in-process runs whose heartbeat stopped FAILURE and ends the MLflow "
        "runs of ended Dagster runs that are still RUNNING.",
    )
    def orphaned_runs_sensor(context: SensorEvaluationContext, mlflow: MlflowTracking):
        lines = close_orphans(context.instance, mlflow)
        for line in lines:
            context.log.info(line)
        return SkipReason("; ".join(lines) or "no orphaned runs")

    return orphaned_runs_sensor
