"""``python -m pipelines.run_job --preset default``: materialise the whole asset graph in-process
into the Dagster instance at $DAGSTER_HOME (so the UI shows the run), then print a summary.

Before it starts: MLflow and Dagster runs left open by a killed run are closed, and the run
config is checked (every bad field listed, nothing run). While it runs: a progress bar, one line
per failed step; every event with tracebacks goes to ``$DAGSTER_HOME/logs/<run id>.log``.
After it: the registry's champion moves only if the run succeeded (see pipelines.lifecycle).
Ctrl-C or SIGTERM cancel the run (exit 130)."""

import argparse
import os
import sys
import time
from pathlib import Path

from dagster import (
    AssetCheckSeverity,
    DagsterInstance,
    DagsterInvalidConfigError,
    DagsterRunStatus,
)
from dagster._core.execution.api import create_execution_plan
from dagster._core.utils import make_new_run_id

from .definitions import JOB_NAME, defs, job_name
from .lifecycle import HEARTBEAT_TAG, close_orphans, heartbeat, settle_run
from .preflight import config_problems, problem_report
from .presets import data_source, load_preset, preset_names, with_table
from .resources import MlflowTracking, default_tracking_uri
from .run_logging import close_run_loggers, run_log_path, step_failure_cause, terminal

SUMMARY_METRICS = (
    "n_samples",
    "n_train",
    "n_test",
    "test_recon_mse",
    "epochs_run",
    "n_params",
    "quantization_error",
    "topographic_error",
    "purity",
    "probe_accuracy",
    "teacher_accuracy",
    "student_accuracy",
    "baseline_accuracy",
    "lupi_accuracy",
    "lupi_baseline_accuracy",
    "frechet_distance",
    "classifier_score",
    "n_classes_present",
    "student_version",
    "student_promoted",
    "encoder_version",
    "encoder_promoted",
    "runs_compared",
)


def summarize(result, log_path: Path | None = None, status: str | None = None) -> list[str]:
    """The run's outcome: first the one-line cause of each failed step, then what was
    materialised (with its key metrics) and the checks."""
    failures = [e for e in result.all_events if e.is_step_failure]
    status = status or ("SUCCESS" if result.success else "FAILURE")
    lines = ["", f"Dagster run {result.run_id}: {status}"]
    if failures:
        lines += ["", "Failed steps (the cause of each; tracebacks in the log file):"]
        for event in failures:
            cause = step_failure_cause(event).splitlines()
            lines.append(f"  {event.step_key}: {cause[0]}")
            lines += [f"    {line.strip()}" for line in cause[1:]]
        skipped = sum(e.is_step_skipped for e in result.all_events)
        if skipped:
            lines.append(f"  ({skipped} later steps not run)")
    if log_path is not None:
        lines.append(f"Full log: {log_path}")
    lines += ["", "Assets materialised:"]
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata = {k: v.value for k, v in materialization.metadata.items()}
        keys = [k for k in SUMMARY_METRICS if k in metadata] + sorted(
            k for k in metadata if k.startswith("accuracy_") and k not in SUMMARY_METRICS
        )
        metrics = ", ".join(f"{k}={_fmt(metadata[k])}" for k in keys)
        lines.append(
            f"  {materialization.asset_key.to_user_string():20s} mlflow run "
            f"{metadata.get('mlflow_run_id', '-')}  {metrics}"
        )
    checks = result.get_asset_check_evaluations()
    if checks:
        lines += ["", "Asset checks:"]
        lines += [
            f"  {c.asset_key.to_user_string() + ':' + c.check_name:44s} {_outcome(c)}"
            for c in checks
        ]
    return lines


def _outcome(check) -> str:
    """``passed``; ``FAILED`` (a gate); ``warning: <finding>`` (severity WARN)."""
    if check.passed:
        return "passed"
    if check.severity == AssetCheckSeverity.WARN:
        finding = check.metadata.get("finding")
        return f"warning: {finding.value}" if finding is not None else "warning"
    return "FAILED"


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def config_errors(error: DagsterInvalidConfigError) -> list[str]:
    """Dagster's config errors, one line each (no schema dumps)."""
    lines = [" ".join(e.message.split(". Expected:")[0].split()) for e in error.errors]
    return [line[:300] for line in lines] or [str(error)[:300]]


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 success, 1 a step failed, 2 bad run config (nothing ran), 130 interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="default", help="preset name or run-config YAML path")
    parser.add_argument("--data", help="a CSV or Parquet table to run on (no YAML needed)")
    parser.add_argument("--label", help="the table's class column, if it has one")
    args = parser.parse_args(argv)
    try:
        run_config = load_preset(args.preset)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    if args.data:
        run_config = with_table(run_config, args.data, args.label or None)
    elif args.label:
        print("--label needs --data (the table it names a column of)", file=sys.stderr)
        return 2
    instance = (
        DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    )
    mlflow = MlflowTracking()
    for line in close_orphans(instance, mlflow):
        print(line)
    named = args.preset in preset_names()  # a named preset runs as its own job (see the UI)
    job = defs.resolve_job_def(job_name(args.preset) if named else JOB_NAME)
    try:
        steps = len(create_execution_plan(job, run_config).step_keys_to_execute)
    except DagsterInvalidConfigError as error:
        print(problem_report(config_errors(error)), file=sys.stderr)
        return 2
    problems = config_problems(run_config)
    if problems:
        print(problem_report(problems), file=sys.stderr)
        return 2
    run_id = make_new_run_id()
    log_path = run_log_path(run_id)
    run_config["loggers"] = {
        "step_progress": {"config": {"total_steps": steps}},
        "run_log_file": {"config": {"path": str(log_path)}},
    }
    terminal()  # the terminal, before the instance captures the run's output
    with heartbeat(instance, run_id):
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
            run_id=run_id,
            tags={
                HEARTBEAT_TAG: f"{time.time():.0f}",
                "unsup/preset": args.preset,
                "unsup/data": args.data or data_source(run_config),
            },
        )
    close_run_loggers(run_id, log_path)
    status = instance.get_run_by_id(run_id).status
    for line in settle_run(instance, mlflow, run_id):
        print(line)
    print("\n".join(summarize(result, log_path, status.value)))
    if status == DagsterRunStatus.CANCELED:
        print(f"\nInterrupted: run {run_id} was canceled; its MLflow runs ended KILLED.")
        return 130
    print(f"\nMLflow store: {default_tracking_uri()}")
    print(
        "Open the UIs: `make ui`, then Dagster at http://127.0.0.1:3000 and MLflow at "
        "http://127.0.0.1:5000"
    )
    return 0 if result.success and status == DagsterRunStatus.SUCCESS else 1


if __name__ == "__main__":
    sys.exit(main())
