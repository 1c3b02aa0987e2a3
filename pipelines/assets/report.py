"""The experiment report: this run's headline metrics beside earlier runs' of the same config,
from MLflow; runs of other configs are listed apart and never compared with this one."""

import csv
import io
from dataclasses import dataclass, field

from dagster import AssetExecutionContext, AssetKey, Config, MetadataValue, Output
from pydantic import Field

from unsup_core.plotting import plot_metric_trends

from ..experiment_history import (
    HEADLINES,
    HIGHER_IS_BETTER,
    Compare,
    Comparison,
    compare_runs,
    config_group,
    config_label,
    direction_arrow,
    direction_label,
    history_rows,
    run_label,
)
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
CONFIG_COLUMNS = ["preset", "data", "config_hash"]


class ExperimentReportConfig(Config):
    max_runs: int = Field(
        20, description="Earlier pipeline runs read from MLflow (the latest, of every config)"
    )
    compare: Compare = Field(
        "same_config",
        description="Earlier runs this run is compared with: 'same_config' (same config hash; "
        "runs of other configs are listed apart, not compared) or 'all'",
    )


@recipe_asset(
    history_rows,
    plot_metric_trends,
    group_name="report",
    kinds={"mlflow"},
    deps=[AssetKey(name) for name in REPORTED_ASSETS],
)
def experiment_report(
    context: AssetExecutionContext, config: ExperimentReportConfig, mlflow: MlflowTracking
) -> Output[dict]:
    """Queries MLflow for this pipeline run and the earlier ones: a table of the headline
    metrics (reconstruction, transfer, teacher/student, SOM QE/TE/purity, GAN) of the earlier
    runs of this run's config, their trends, what changed since the previous run of that config
    (better by each metric's direction), the other configs' runs apart, and the registry's
    decisions."""
    if config.max_runs < 1:
        raise ValueError(f"max_runs={config.max_runs} must be >= 1")
    closed = close_orphans(context.instance, mlflow)  # no RUNNING rows for dead runs
    for line in closed:
        context.log.info(line)
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        client = mlflow.client()
        job, this_run = context.run.job_name, context.run.run_id
        rows = history_rows(client, run.experiment_id, job, config.max_runs + 1)  # + this run
        comparison = compare_runs(rows, this_run, config.compare)
        report = build_report(comparison, registry_lines(client, this_run, run.experiment_id))
        report.failed_checks = [f"- {line}" for line in failed_checks(context.instance, this_run)]
        log_report(run, report)
    return Output(
        report.value(),
        metadata={
            **run.dagster_metadata(),
            "runs_compared": report.runs_compared,
            "config": report.config,
            "report": MetadataValue.md(report.table),
            "changes": MetadataValue.md(report.changes_table),
            "other_configs": MetadataValue.md("\n\n".join(report.others) or "none"),
            "registry": MetadataValue.md("\n".join(report.registry) or "-"),
            "not_applicable_assets": MetadataValue.md("\n".join(report.not_applicable) or "-"),
            "failed_checks": MetadataValue.md("\n".join(report.failed_checks) or "none"),
        },
    )


@dataclass
class Report:
    """The report's parts: the comparison, this run's config, the headline columns shown, the
    table of the earlier runs compared (oldest first), this run's changes since the previous
    one, a section per other config, the registry's decisions."""

    comparison: Comparison
    config: str
    columns: list[str]
    table: str
    changes_table: str
    others: list[str]
    registry: list[str]
    not_applicable: list[str]  # this run's assets that do not apply to its data, and why
    failed_checks: list[str] = field(default_factory=list)  # this run's, evaluated so far

    @property
    def runs_compared(self) -> int:
        """This run and the earlier runs it is compared with."""
        return len(self.comparison.history) + (0 if self.comparison.this_run is None else 1)

    def value(self) -> dict:
        """The asset's value (and the JSON artifact's core): the comparison's rows."""
        c = self.comparison
        return {
            "compare": c.compare,
            "this_run": c.this_run,
            "history": c.history,
            "previous_run": None if c.previous is None else c.previous["dagster_run"],
            "changes": c.changes,
            "other_configs": c.others,
        }


def build_report(comparison: Comparison, registry: list[str]) -> Report:
    """Tables of the headline metrics that the runs have: the compared runs, this run's
    changes (with each metric's better direction), and one per other config."""
    c = comparison
    shown = [*c.history, *([c.this_run] if c.this_run else [])]
    delta = [{**d, "direction": direction_label(HIGHER_IS_BETTER[d["metric"]])} for d in c.changes]
    this = c.this_run or {}
    return Report(
        c,
        config_label(this) if c.this_run else "this run's MLflow run was not found",
        headline_columns(shown),
        runs_table(c.history, headline_columns(shown), with_config=c.compare == "all"),
        markdown_table(
            delta, ["metric", "direction", "this_run", "previous_run", "change", "better"]
        ),
        [
            f"### {config_label(rows[-1])}: {len(rows)} run{'s' * (len(rows) != 1)}, "
            "not compared with this run\n\n" + runs_table(rows, headline_columns(rows))
            for rows in c.others.values()
        ],
        registry,
        [f"- {item}" for item in (this.get("not_applicable") or "").split("; ") if item],
    )


def headline_columns(rows: list[dict]) -> list[str]:
    return [h.column for h in HEADLINES if any(r.get(h.column) is not None for r in rows)]


def runs_table(rows: list[dict], columns: list[str], with_config: bool = False) -> str:
    """One row per run: its label, status (config with ``with_config``), headline metrics with
    their better direction (↑/↓) in the header."""
    if not rows:
        return "none"
    headers = {c: f"{c} {direction_arrow(HIGHER_IS_BETTER[c])}" for c in columns}
    cells = [{"run": run_label(r), **r, **{headers[c]: r.get(c) for c in columns}} for r in rows]
    fields = ["run", "status", *(CONFIG_COLUMNS if with_config else []), *headers.values()]
    return markdown_table(cells, fields)


def report_markdown(report: Report) -> str:
    """``experiment_report.md``: this run's config, its changes since the previous run of that
    config, the earlier runs compared, the other configs apart, registry, applicability, checks."""
    c = report.comparison
    scope = "every config" if c.compare == "all" else "this run's config"
    if c.this_run is None:
        header = f"{report.config}: nothing compared."
    else:
        header = f"This run `{c.this_run['dagster_run']}` ({c.this_run['started']} UTC): "
        header += f"{report.config}."
    others = sum(map(len, c.others.values()))
    return "\n\n".join(
        [
            "# Experiment report",
            header,
            f"Compared with {len(c.history)} earlier runs of {scope} (`compare={c.compare}`); "
            f"{others} runs of {len(c.others)} other configs are listed apart, not compared. "
            "↑: higher is better, ↓: lower is better.",
            "## This run against the previous run of " + scope,
            f"Previous run: {run_label(c.previous)}, {config_label(c.previous)}."
            if c.previous
            else f"No earlier finished run of {scope}: nothing to compare with yet.",
            report.changes_table,
            f"## Earlier runs of {scope} (oldest first)",
            report.table,
            "## Other configs (not compared with this run)",
            "\n\n".join(report.others) or "none",
            "## Model registry",
            "\n".join(report.registry) or "no registry decision",
            "## Not applicable to this run's data",
            "\n".join(report.not_applicable) or "every asset applied",
            "## Checks that did not pass in this run (warnings and gates)",
            "\n".join(report.failed_checks) or "none",
        ]
    )


def trends_figure(report: Report):
    """The compared runs' headline metrics, oldest first, this run last; one line per config
    (several only with ``compare="all"``)."""
    c = report.comparison
    plotted = [*c.history, *([c.this_run] if c.this_run else [])]
    if not plotted or not report.columns:
        return None
    names = {config_group(r): config_label(r, short=True) for r in plotted}  # the latest's
    labels = [run_label(r) for r in c.history]
    scope = "every config" if c.compare == "all" else "this run's config"
    return plot_metric_trends(
        labels + ([f"this run · {c.this_run['dagster_run']}"] if c.this_run else []),
        {column: [r.get(column) for r in plotted] for column in report.columns},
        title=f"headline metrics: earlier runs of {scope}, then this run",
        higher_is_better={column: HIGHER_IS_BETTER[column] for column in report.columns},
        groups=[names[config_group(r)] for r in plotted],
    )


def log_report(run: AssetRun, report: Report) -> None:
    """``experiment_report.md/.csv/.json``, ``runs_compared`` and the trends figure."""
    run.log_text(report_markdown(report), "experiment_report.md")
    run.log_text(to_csv(report.comparison), "experiment_report.csv")
    run.log_dict(
        {
            **report.value(),
            "registry": report.registry,
            "not_applicable": report.not_applicable,
            "failed_checks": report.failed_checks,
        },
        "experiment_report.json",
    )
    run.log_metrics({"runs_compared": float(report.runs_compared)})
    figure = trends_figure(report)
    if figure is not None:
        run.log_figure(figure, "trends")


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


def to_csv(comparison: Comparison) -> str:
    """Every run read, with its role: this run, compared, or another config."""
    c = comparison
    roles = [
        *(("compared", r) for r in c.history),
        *((("this run", c.this_run),) if c.this_run else ()),
        *(("other config", r) for rows in c.others.values() for r in rows),
    ]
    columns = headline_columns([r for _, r in roles])
    fields = ["role", "dagster_run", "mlflow_run", "started", "status", *CONFIG_COLUMNS, *columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({**r, "role": role} for role, r in roles)
    return buffer.getvalue()
