"""New-data sensor: a CSV or Parquet file that appears in (or changes in) the incoming folder
launches a pipeline run with that file as the source.

The folder is ``$UNSUP_INCOMING_DIR`` (default ``<repo>/data/incoming``). An optional
``sensor.yaml`` in it sets the preset of those runs (``preset: default``), the
``raw_dataset`` settings every file shares (``label_column``, ``image_shape``, ...) and any
other op's config (``ops: {privileged_student: {config: {privileged_columns: [...]}}}``). The cursor
records each file's version (modification time and size), so each version runs exactly once; a
malformed file fails its own run with the data error, and the sensor goes on.
"""

import json
import os
import time
from pathlib import Path

import yaml
from dagster import (
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from .presets import load_preset
from .resources import REPO_ROOT

DATA_SUFFIXES = (".csv", ".parquet")
SETTINGS_FILE = "sensor.yaml"
DEFAULT_SOURCE = {"label_column": "label"}


def incoming_dir() -> Path:
    return Path(os.environ.get("UNSUP_INCOMING_DIR") or REPO_ROOT / "data" / "incoming")


def file_version(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_mtime_ns}-{stat.st_size}"


def read_settings(folder: Path) -> dict:
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


def run_config_for(path: Path, settings: dict) -> dict:
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
    folder: Path | None = None,
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
        where = folder or incoming_dir()
        if not where.is_dir():
            return SkipReason(f"incoming folder {where} does not exist yet")
        try:
            settings = read_settings(where)
        except (ValueError, yaml.YAMLError) as error:
            return SkipReason(f"not launching: {error}")
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        requests, now = [], time.time()
        for path in sorted(
            p
            for p in where.iterdir()
            if p.suffix.lower() in DATA_SUFFIXES and not p.name.startswith((".", "_"))
        ):
            version = file_version(path)
            if seen.get(path.name) == version or now - path.stat().st_mtime < settle_seconds:
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
