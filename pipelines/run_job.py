"""``python -m pipelines.run_job --preset default``: materialise the whole asset graph in-process
into the Dagster instance at $DAGSTER_HOME (so the UI shows the run), then print a summary."""

import argparse
import os
import sys

from dagster import DagsterInstance, DagsterRunStatus

from .definitions import JOB_NAME, defs
from .presets import load_preset
from .resources import default_tracking_uri

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


def summarize(result) -> list[str]:
    lines = [
        "",
        f"Dagster run {result.run_id}: {'SUCCESS' if result.success else 'FAILURE'}",
        "",
        "Assets materialised:",
    ]
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
            f"  {c.asset_key.to_user_string() + ':' + c.check_name:44s} "
            f"{'passed' if c.passed else 'FAILED'}"
            for c in checks
        ]
    failures = [e for e in result.all_events if e.is_step_failure]
    for event in failures:
        lines.append(
            f"\nStep {event.step_key} failed: {event.step_failure_data.error.message.strip()}"
        )
    return lines


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="default", help="preset name or run-config YAML path")
    args = parser.parse_args(argv)
    run_config = load_preset(args.preset)
    run_config.setdefault("loggers", {"console": {"config": {"log_level": "INFO"}}})
    instance = (
        DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    )
    result = defs.resolve_job_def(JOB_NAME).execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False
    )
    print("\n".join(summarize(result)))
    print(f"\nMLflow store: {default_tracking_uri()}")
    print(
        "Open the UIs: `make ui`, then Dagster at http://127.0.0.1:3000 and MLflow at "
        "http://127.0.0.1:5000"
    )
    status = instance.get_run_by_id(result.run_id).status
    return 0 if result.success and status == DagsterRunStatus.SUCCESS else 1


if __name__ == "__main__":
    sys.exit(main())
