"""Headline metrics of this pipeline run and earlier ones, read back from MLflow, grouped by the
config each run ran with.

Every asset logs the same metric names on every run, so one query per experiment gives a table
with one row per pipeline run and one column per headline metric. Only runs of one config are
alike: each parent run carries its preset, its data source and a hash of its run config as tags,
and :func:`compare_runs` sets the run in progress against the earlier runs of its own config
and keeps every other config apart. Everything below :func:`history_rows` works on plain rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePath
from typing import Literal, get_args

from mlflow.tracking import MlflowClient

from .applicability import NOT_APPLICABLE_TAG
from .tags import TAG_ASSET, TAG_CONFIG_HASH, TAG_DATA, TAG_LEVEL, TAG_PRESET, TAG_RUN_ID

# A parent run's config tags (TAG_PRESET, TAG_DATA, TAG_CONFIG_HASH); runs logged before them
# are read from the Dagster run tags that `make run`, the sensor and the schedule set, which the
# parent run copies (no hash there).
PRESET_TAGS = (TAG_PRESET, "unsup/preset")
DATA_TAGS = (TAG_DATA, "unsup/data", "unsup/incoming_file")
UNKNOWN_CONFIG = "unknown config"
Compare = Literal["same_config", "all"]
COMPARE_MODES: tuple[str, ...] = get_args(Compare)


@dataclass(frozen=True)
class Headline:
    """A column of the report: metric ``pattern`` (a regular expression over the metric names)
    of ``asset``'s run; several matches are reduced by ``reduce`` (max or min)."""

    column: str
    asset: str
    pattern: str
    reduce: str = "max"
    higher_is_better: bool = True

    def value(self, metrics: dict[str, float]) -> float | None:
        found = [v for k, v in metrics.items() if re.fullmatch(self.pattern, k)]
        if not found:
            return None
        return max(found) if self.reduce == "max" else min(found)


HEADLINES: tuple[Headline, ...] = (
    Headline("plain_ae/test_recon_mse", "plain_autoencoder", "test/recon", higher_is_better=False),
    Headline(
        "stacked_ae/test_recon_mse", "stacked_autoencoder", "test/recon", higher_is_better=False
    ),
    Headline("transfer/best_accuracy", "transfer_models", r"model/.+/accuracy"),
    Headline("teacher/accuracy", "teacher_model", "test/accuracy"),
    Headline("student/accuracy", "student_model", "test/accuracy"),
    Headline("student/baseline_accuracy", "student_model", "baseline/test_accuracy"),
    Headline("lupi/accuracy", "privileged_student", "test/accuracy"),
    Headline(
        "code_som/quantization_error", "code_som", "quantization_error", higher_is_better=False
    ),
    Headline("code_som/topographic_error", "code_som", "topographic_error", higher_is_better=False),
    Headline("code_som/purity", "code_som", "purity"),
    Headline("data_som/purity", "data_som", "purity"),
    Headline("gan/frechet_distance", "gan_model", "gan/frechet_distance", higher_is_better=False),
    Headline("gan/classifier_score", "gan_model", "gan/classifier_score"),
)
# Which way is better, by headline column: what the report's tables, its better/worse verdicts
# and its figure read. Built from HEADLINES, so each direction is declared once, beside its metric.
HIGHER_IS_BETTER: dict[str, bool] = {h.column: h.higher_is_better for h in HEADLINES}


def direction_arrow(higher_is_better: bool) -> str:
    """``↑`` where a higher value is better, ``↓`` where a lower one is."""
    return "↑" if higher_is_better else "↓"


def direction_label(higher_is_better: bool) -> str:
    """``↑ better`` or ``↓ better``: a metric's direction, for a table cell."""
    return f"{direction_arrow(higher_is_better)} better"


def is_better(change: float | None, higher_is_better: bool) -> bool | None:
    """Whether a metric that moved by ``change`` improved; None when there is no change."""
    if change is None or change == 0:
        return None
    return (change > 0) == higher_is_better


def history_rows(
    client: MlflowClient,
    experiment_id: str,
    job_name: str,
    max_runs: int,
    headlines: Sequence[Headline] = HEADLINES,
    statuses: Sequence[str] = ("FINISHED", "RUNNING"),
) -> list[dict]:
    """One row per pipeline run of ``job_name`` (oldest first, the latest ``max_runs``): its
    Dagster run id (``dagster_run``: 8 characters, ``dagster_run_id``: whole), start time,
    status, config (``preset``, ``data``, ``config_hash``; None where the run's tags lack one),
    the headline metrics (None where an asset did not run) and which assets did not apply to
    the data, and why. The run in progress is among them, RUNNING: :func:`compare_runs` sets
    it apart."""
    parents = client.search_runs(
        [experiment_id],
        max_results=max_runs,
        order_by=["attributes.start_time DESC"],
        filter_string=f"tags.`{TAG_LEVEL}` = 'run' and tags.`dagster.job` = '{job_name}'",
    )
    parents = [p for p in parents if p.info.status in statuses][::-1]
    if not parents:
        return []
    oldest = parents[0].info.start_time
    children = client.search_runs(
        [experiment_id],
        max_results=5000,
        order_by=["attributes.start_time ASC"],
        filter_string=f"tags.`{TAG_LEVEL}` = 'asset' and attributes.start_time >= {oldest}",
    )
    latest: dict[tuple[str, str], dict[str, float]] = {}
    not_applicable: dict[str, dict[str, str]] = {}  # by Dagster run: asset -> reason
    for child in children:  # the latest run of an asset within a pipeline run counts
        key = (child.data.tags.get(TAG_RUN_ID, ""), child.data.tags.get(TAG_ASSET, ""))
        latest[key] = child.data.metrics
        reason = child.data.tags.get(NOT_APPLICABLE_TAG)
        if reason is not None:
            not_applicable.setdefault(key[0], {})[key[1]] = reason
    rows = []
    for parent in parents:
        dagster_run = parent.data.tags.get(TAG_RUN_ID, "")
        started = datetime.fromtimestamp(parent.info.start_time / 1000, tz=timezone.utc)
        row = {
            "dagster_run": dagster_run[:8],
            "dagster_run_id": dagster_run,
            "mlflow_run": parent.info.run_id,
            "started": started.strftime("%Y-%m-%d %H:%M:%S"),
            "status": parent.info.status,
            **run_config(parent.data.tags),
        }
        for headline in headlines:
            row[headline.column] = headline.value(latest.get((dagster_run, headline.asset), {}))
        reasons = not_applicable.get(dagster_run, {})
        row["not_applicable"] = "; ".join(f"{a}: {r}" for a, r in sorted(reasons.items())) or None
        rows.append(row)
    return rows


def run_config(tags: Mapping[str, str]) -> dict[str, str | None]:
    """A parent run's ``preset``, ``data`` and ``config_hash``, from its ``unsup.*`` tags or,
    for older runs, the Dagster run tags it copied; None for what neither says."""

    def first(keys: Sequence[str]) -> str | None:
        return next((tags[key] for key in keys if tags.get(key)), None)

    return {
        "preset": first(PRESET_TAGS),
        "data": first(DATA_TAGS),
        "config_hash": first((TAG_CONFIG_HASH,)),
    }


def config_group(row: Mapping) -> str:
    """The config a run belongs to: its config hash; without one (older runs) its preset and
    data; without either, :data:`UNKNOWN_CONFIG`."""
    if row.get("config_hash"):
        return f"config {row['config_hash']}"
    if row.get("preset") or row.get("data"):
        return f"preset {row.get('preset') or '?'}, data {row.get('data') or '?'}"
    return UNKNOWN_CONFIG


def config_label(row: Mapping, short: bool = False) -> str:
    """A run's config in words: preset, data and hash (``short``: the data file's name only)."""
    if config_group(row) == UNKNOWN_CONFIG:
        return f"{UNKNOWN_CONFIG} (no preset, data or config-hash tag)"
    data = row.get("data") or "?"
    return (
        f"preset {row.get('preset') or '?'}, "
        f"data {PurePath(data).name if short else data}, "
        f"config {row.get('config_hash') or 'without hash'}"
    )


def run_label(row: Mapping) -> str:
    """A short name for a run: its start (month-day hour:minute, UTC) and Dagster run id."""
    return f"{row['started'][5:16]} · {row['dagster_run']}"


def group_runs(rows: Sequence[dict]) -> dict[str, list[dict]]:
    """Runs by :func:`config_group`, each group oldest first; the group run latest comes first."""
    groups: dict[str, list[dict]] = {}
    for row in reversed(rows):
        groups.setdefault(config_group(row), []).insert(0, row)
    return groups


def changes(rows: Sequence[dict], headlines: Sequence[Headline] = HEADLINES) -> list[dict]:
    """For the latest row: each headline's value, the previous row's, the change and whether
    it got better (by the headline's direction)."""
    if not rows:
        return []
    current, previous = rows[-1], (rows[-2] if len(rows) > 1 else {})
    out = []
    for headline in headlines:
        now, before = current.get(headline.column), previous.get(headline.column)
        if now is None:
            continue
        delta = None if before is None else now - before
        out.append(
            {
                "metric": headline.column,
                "this_run": now,
                "previous_run": before,
                "change": delta,
                "better": is_better(delta, headline.higher_is_better),
            }
        )
    return out


@dataclass(frozen=True)
class Comparison:
    """The run in progress (``this_run``; None if its parent run was not among the rows) against
    earlier runs. ``history``: the earlier runs it is compared with, oldest first (its own
    config's, or every run's with ``compare="all"``); ``previous``: the latest FINISHED one of
    them; ``changes``: this run against ``previous``; ``others``: earlier runs of other configs
    by :func:`config_group` (the group run latest first), shown apart and never compared."""

    compare: str
    this_run: dict | None
    history: list[dict]
    previous: dict | None
    changes: list[dict]
    others: dict[str, list[dict]]


def compare_runs(
    rows: Sequence[dict],
    dagster_run_id: str,
    compare: Compare = "same_config",
    headlines: Sequence[Headline] = HEADLINES,
) -> Comparison:
    """Split :func:`history_rows`' rows into the run in progress (Dagster run
    ``dagster_run_id``), the earlier runs it is compared with (``compare``: ``"same_config"``,
    runs of its config group only; ``"all"``, every run) and the other configs' runs."""
    if compare not in COMPARE_MODES:
        raise ValueError(f"compare={compare!r} must be one of {COMPARE_MODES}")
    this_run = next((r for r in rows if r.get("dagster_run_id") == dagster_run_id), None)
    earlier = [r for r in rows if r is not this_run]
    if this_run is None:
        history, others = [], group_runs(earlier)
    elif compare == "all":
        history, others = earlier, {}
    else:
        others = group_runs(earlier)
        history = others.pop(config_group(this_run), [])
    finished = [r for r in history if r.get("status") == "FINISHED"]  # not a run still going
    previous = finished[-1] if finished else None
    compared = [r for r in (previous, this_run) if r is not None]
    delta = changes(compared, headlines) if this_run is not None else []
    return Comparison(compare, this_run, history, previous, delta, others)
