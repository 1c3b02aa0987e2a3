"""The experiment report: this run's headline metrics beside earlier runs', from MLflow."""

import csv
import io
from dataclasses import dataclass, field

from dagster import AssetExecutionContext, AssetKey, Config, MetadataValue, Output
from pydantic import Field

from unsup_core.plotting import plot_metric_trends

from ..experiment_history import HEADLINES, changes, history_rows
from ..lifecycle import close_orphans, failed_checks
from ..reporting import markdown_table
from ..resources import MlflowTracking
from ..tracking import AssetRun
from ..versioning import recipe_asset

REPORTED_ASSETS = (
    "plain_autoencoder",
    "autoencoder_zoo",
    "data_som",
    "transfer_models",
    "privileged_student",
    "code_som",
    "registered_models",
    "gan_model",
)


class ExperimentReportConfig(Config):
    max_runs: int = Field(20, description="Pipeline runs in the table and the trends (latest)")


@recipe_asset(
    history_rows,
    plot_metric_trends,
    group_name="report",
    kinds={"mlflow"},
    deps=[AssetKey(name) for name in REPORTED_ASSETS],
)
def experiment_report(
    context: AssetExecutionContext, config: ExperimentReportConfig, mlflow: MlflowTracking
) -> Output[list]:
    """Queries MLflow for this pipeline run and the earlier ones: a table of the headline
    metrics (reconstruction, transfer, teacher/student, SOM QE/TE/purity, GAN), their trends,
    what changed since the previous run, and the registry's decisions."""
    if config.max_runs < 1:
        raise ValueError(f"max_runs={config.max_runs} must be >= 1")
    closed = close_orphans(context.instance, mlflow)  # no RUNNING rows for dead runs
    for line in closed:
        context.log.info(line)
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        client = mlflow.client()
        rows = history_rows(client, run.experiment_id, context.run.job_name, config.max_runs)
        report = build_report(rows, registry_lines(client, context.run.run_id, run.experiment_id))
        report.failed_checks = [
            f"- {line}" for line in failed_checks(context.instance, context.run.run_id)
        ]
        log_report(run, report)
    return Output(
        rows,
        metadata={
            **run.dagster_metadata(),
            "runs_compared": len(rows),
            "report": MetadataValue.md(report.table),
            "changes": MetadataValue.md(report.changes_table),
            "registry": MetadataValue.md("\n".join(report.registry) or "-"),
            "not_applicable_assets": MetadataValue.md("\n".join(report.not_applicable) or "-"),
            "failed_checks": MetadataValue.md("\n".join(report.failed_checks) or "none"),
        },
    )


@dataclass
class Report:
    """The report's parts: the history table (one row per pipeline run, oldest first), the
    changes since the previous run, the registry's decisions, and the headline columns shown."""

    rows: list[dict]
    columns: list[str]
    table: str
    changes: list[dict]
    changes_table: str
    registry: list[str]
    not_applicable: list[str]  # this run's assets that do not apply to its data, and why
    failed_checks: list[str] = field(default_factory=list)  # this run's, evaluated so far


def build_report(rows: list[dict], registry: list[str]) -> Report:
    """Tables of the headline metrics that any run has, and of this run's changes."""
    columns = [h.column for h in HEADLINES if any(r.get(h.column) is not None for r in rows)]
    delta = changes(rows)
    return Report(
        rows,
        columns,
        markdown_table(rows, ["dagster_run", "started", "status", *columns]),
        delta,
        markdown_table(delta, ["metric", "this_run", "previous_run", "change", "better"]),
        registry,
        [f"- {item}" for item in (rows[-1].get("not_applicable") or "").split("; ") if item]
        if rows
        else [],
    )


def log_report(run: AssetRun, report: Report) -> None:
    """``experiment_report.md/.csv/.json``, ``runs_compared`` and the trends figure."""
    rows, columns = report.rows, report.columns
    text = "\n\n".join(
        [
            "# Experiment report",
            f"{len(rows)} pipeline runs, oldest first.",
            report.table,
            "## This run against the previous one",
            report.changes_table,
            "## Model registry",
            "\n".join(report.registry) or "no registry decision",
            "## Not applicable to this run's data",
            "\n".join(report.not_applicable) or "every asset applied",
            "## Checks that did not pass in this run (warnings and gates)",
            "\n".join(report.failed_checks) or "none",
        ]
    )
    run.log_text(text, "experiment_report.md")
    run.log_text(
        to_csv(rows, ["dagster_run", "mlflow_run", "started", "status", *columns]),
        "experiment_report.csv",
    )
    run.log_dict(
        {
            "runs": rows,
            "changes": report.changes,
            "registry": report.registry,
            "not_applicable": report.not_applicable,
            "failed_checks": report.failed_checks,
        },
        "experiment_report.json",
    )
    run.log_metrics({"runs_compared": float(len(rows))})
    if rows and columns:
        run.log_figure(
            plot_metric_trends(
                [r["dagster_run"] for r in rows], {c: [r.get(c) for r in rows] for c in columns}
            ),
            "trends",
        )


def registry_lines(client, dagster_run_id: str, experiment_id: str) -> list[str]:
    """The registry decisions of this pipeline run, read from the registered_models run."""
    found = client.search_runs(
        [experiment_id],
        max_results=1,
        order_by=["attributes.start_time DESC"],
        filter_string=f"tags.`dagster.run_id` = '{dagster_run_id}' and "
        "tags.`dagster.asset_key` = 'registered_models'",
    )
    if not found:
        return []
    tags = found[0].data.tags
    return [
        f"- {role}: `{tags[f'{role}.registered_model']}` v{tags[f'{role}.version']}: "
        f"{tags[f'{role}.decision']}"
        for role in ("student", "encoder")
        if f"{role}.registered_model" in tags
    ]


def to_csv(rows: list[dict], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
