"""Headline metrics of this pipeline run and earlier ones, read back from MLflow.

Every asset logs the same metric names on every run, so one query per experiment gives a table
with one row per pipeline run and one column per headline metric.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from mlflow.tracking import MlflowClient

from .applicability import NOT_APPLICABLE_TAG
from .resources import TAG_ASSET, TAG_LEVEL, TAG_RUN_ID


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


def history_rows(
    client: MlflowClient,
    experiment_id: str,
    job_name: str,
    max_runs: int,
    headlines: Sequence[Headline] = HEADLINES,
    statuses: Sequence[str] = ("FINISHED", "RUNNING"),
) -> list[dict]:
    """One row per pipeline run of ``job_name`` (oldest first, the latest ``max_runs``): its
    Dagster run id, start time, status, the headline metrics (None where an asset did not
    run) and which assets did not apply to the data, and why. The run in progress counts as
    RUNNING."""
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
            "mlflow_run": parent.info.run_id,
            "started": started.strftime("%Y-%m-%d %H:%M:%S"),
            "status": parent.info.status,
        }
        for headline in headlines:
            row[headline.column] = headline.value(latest.get((dagster_run, headline.asset), {}))
        reasons = not_applicable.get(dagster_run, {})
        row["not_applicable"] = "; ".join(f"{a}: {r}" for a, r in sorted(reasons.items())) or None
        rows.append(row)
    return rows


def changes(rows: Sequence[dict], headlines: Sequence[Headline] = HEADLINES) -> list[dict]:
    """For the latest row: each headline's value, the previous run's, the change and whether
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
        better = None if delta is None or delta == 0 else (delta > 0) == headline.higher_is_better
        out.append(
            {
                "metric": headline.column,
                "this_run": now,
                "previous_run": before,
                "change": delta,
                "better": better,
            }
        )
    return out
