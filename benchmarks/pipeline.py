"""What orchestration and tracking cost: the whole graph through Dagster + MLflow against the
same library calls in a plain script, same machine, same run.

- ``orchestrated``: ``python -m pipelines.run_job --preset <preset>``, i.e. what ``make run``
  does: Dagster (run storage, event log, IO managers, asset checks, hooks) and MLflow (a SQLite
  store, params, metrics, figures rendered to PNG, checkpoints, the model registry and the
  experiment report) into a temporary DAGSTER_HOME and store.
- ``plain``: every compute asset's body called directly, in dependency order, with the values
  handed over in memory and a tracking object that does nothing (figures are built but never
  rendered); the registry and the report (MLflow queries) and the run-config check (it reads
  the Dagster run) are left out. This is the same sequence of library calls a hand-written
  script would make.

Each variant runs in its own process; wall time and the process's peak resident memory are
reported, and the overhead is ``orchestrated / plain - 1``. Run ``python benchmarks/pipeline.py``
(``--quick``: the tiny preset; ``--before REF``: also the orchestrated graph at commit REF,
from a git worktree, so each step's time before and after a change is measured in the same
session); it prints a table and writes ``benchmarks/results/pipeline.json``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import write_results

RESULTS = ROOT / "benchmarks" / "results" / "pipeline.json"
# MLflow queries, and the run-config check (it reads the Dagster run): not in the plain script
TRACKING_ONLY = ("registered_models", "experiment_report", "validated_run_config")


class NullRun:
    """Takes every logging call of an asset body and does nothing with it."""

    run_id = experiment_id = experiment_name = url = ""

    def __init__(self) -> None:
        self.metrics: dict[str, float] = {}
        self.tags: dict[str, str] = {}

    def log_metrics(self, metrics, step: int = 0) -> None:
        self.metrics.update(metrics)

    def log_figure(self, figure, name: str) -> None:
        pass  # built by the asset (library plotting), never rendered

    def __getattr__(self, name):  # log_params, log_bytes, log_dict, log_model, set_tags, ...
        return lambda *args, **kwargs: None

    def epoch_logger(self, *args, **kwargs):
        from unsup_core.training import Callback

        return Callback()

    def stage_callbacks(self, stage: str) -> list:
        return []

    def progress_callbacks(self, stage: str) -> list:
        return []

    def progress(self, done: int, total: int, unit: str) -> None:
        pass

    def log_result(self, result, figures=None, columns=None) -> dict[str, str]:
        self.metrics.update(result.metrics)  # figures were built by the asset, never rendered
        return {name: "" for name in result.tables}

    def log_table(self, rows, name, columns=None) -> str:
        return ""

    @contextmanager
    def nested(self, name, params=None):
        yield NullRun()

    def dagster_metadata(self) -> dict:
        return {}


class NullTracking:
    @contextmanager
    def asset_run(self, context, params=None):
        yield NullRun()


def run_plain(preset: str) -> None:
    """Call each compute asset's body in dependency order, values in memory."""
    from dagster import build_asset_context

    from pipelines.definitions import ASSETS
    from pipelines.distributed import DistributedTraining
    from pipelines.presets import load_preset

    ops = load_preset(preset)["ops"]
    by_key = {
        a.key.to_user_string(): a for a in ASSETS if a.key.to_user_string() not in TRACKING_ONLY
    }
    values: dict[str, object] = {}
    pending = list(by_key)
    while pending:
        name = next(
            n
            for n in pending
            if all(
                d.to_user_string() in values or d.to_user_string() not in by_key
                for d in by_key[n].dependency_keys
            )
        )
        pending.remove(name)
        function = by_key[name].op.compute_fn.decorated_fn
        kwargs = {}
        for parameter in inspect.signature(function).parameters.values():
            if parameter.name == "context":
                kwargs["context"] = build_asset_context()
            elif parameter.name == "config":
                kwargs["config"] = parameter.annotation(**ops.get(name, {}).get("config", {}))
            elif parameter.name == "mlflow":
                kwargs["mlflow"] = NullTracking()
            elif parameter.name == "distributed":
                kwargs["distributed"] = DistributedTraining(processes=1)  # this process
            else:
                kwargs[parameter.name] = values[parameter.name]
        started = time.perf_counter()
        output = function(**kwargs)
        print(f"{STEP_MARKER}{name}={time.perf_counter() - started:.3f}")
        values[name] = getattr(output, "value", output)


def step_seconds_of_last_run() -> dict[str, float]:
    """Seconds of each step (assets and checks) of the latest run in $DAGSTER_HOME."""
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    run = instance.get_runs(limit=1)[0]
    return {
        s.step_key: s.end_time - s.start_time
        for s in instance.get_run_step_stats(run.run_id)
        if s.end_time and s.start_time
    }


PEAK_MARKER = "PEAK_RSS_KIB="
STEP_MARKER = "STEP_SECONDS:"


def measure(variant: str, preset: str, env: dict, root: Path = ROOT) -> dict:
    """Wall time of the variant's own process (imports included) and its peak RSS, with the
    code of the checkout at ``root`` (another commit's worktree: ``--before``)."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "pipeline.py"), "--variant", variant]
        + ["--preset", preset],
        cwd=root,
        env={**env, "PYTHONPATH": str(root)},  # that checkout's unsup_core and pipelines
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(
            f"{variant} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
    lines = completed.stdout.splitlines()
    peak = next(line for line in lines if line.startswith(PEAK_MARKER))
    steps = dict(
        line.removeprefix(STEP_MARKER).rsplit("=", 1)
        for line in lines
        if line.startswith(STEP_MARKER)
    )
    return {
        "seconds": seconds,
        "peak_rss_mib": int(peak.removeprefix(PEAK_MARKER)) / 1024,
        "steps": {k: float(v) for k, v in steps.items()},
    }


def headline_metrics(tracking_uri: str) -> dict[str, float]:
    """The parent MLflow run's metrics (every asset's headline) of the one pipeline run in the
    store at ``tracking_uri``, read here whatever the version of the code that wrote them."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    parents = client.search_runs(experiments, "tags.`dagster.level` = 'run'")
    return dict(sorted(parents[0].data.metrics.items())) if parents else {}


@contextmanager
def worktree(ref: str):
    """A temporary checkout of the commit ``ref`` (git worktree), removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(path), ref], cwd=ROOT, check=True
        )
        try:
            yield path
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny preset (a smoke run)")
    parser.add_argument("--variant", choices=["plain", "orchestrated"], help=argparse.SUPPRESS)
    parser.add_argument("--preset", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--before",
        metavar="REF",
        help="also run the orchestrated graph at this commit (a git worktree), per step",
    )
    args = parser.parse_args()
    if args.variant:
        if args.variant == "plain":
            run_plain(args.preset)
        else:
            from pipelines.run_job import main as run_job

            if run_job(["--preset", args.preset]) != 0:
                sys.exit(1)
            for step, seconds in step_seconds_of_last_run().items():
                print(f"{STEP_MARKER}{step}={seconds:.3f}")
        print(f"{PEAK_MARKER}{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
        return
    preset = "tiny" if args.quick else "default"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DAGSTER_HOME": tmp,
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DAGSTER_DISABLE_TELEMETRY": "true",
        }
        Path(tmp, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        rows = {variant: measure(variant, preset, env) for variant in ("plain", "orchestrated")}
        if args.before:
            Path(tmp, "before").mkdir()
            Path(tmp, "before", "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
            before_env = {
                **env,
                "DAGSTER_HOME": f"{tmp}/before",
                "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/before/mlflow.db",
            }
            with worktree(args.before) as checkout:
                rows["before"] = measure("orchestrated", preset, before_env, checkout)
            rows["before"]["headlines"] = headline_metrics(before_env["MLFLOW_TRACKING_URI"])
        rows["orchestrated"]["headlines"] = headline_metrics(env["MLFLOW_TRACKING_URI"])
    plain, orchestrated = rows["plain"]["seconds"], rows["orchestrated"]["seconds"]
    report = {
        "preset": preset,
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "plain_seconds": plain,
        "orchestrated_seconds": orchestrated,
        "overhead_fraction": orchestrated / plain - 1,
        "plain_peak_rss_mib": rows["plain"]["peak_rss_mib"],
        "orchestrated_peak_rss_mib": rows["orchestrated"]["peak_rss_mib"],
        "steps": {
            name: {
                "plain": rows["plain"]["steps"].get(name),
                "orchestrated": rows["orchestrated"]["steps"].get(name),
                **({"before": rows["before"]["steps"].get(name)} if args.before else {}),
            }
            for name in rows["orchestrated"]["steps"]
        },
    }
    report["headline_metrics"] = rows["orchestrated"]["headlines"]
    if args.before:
        report["before"] = {
            "ref": args.before,
            "orchestrated_seconds": rows["before"]["seconds"],
            "peak_rss_mib": rows["before"]["peak_rss_mib"],
            "speedup": rows["before"]["seconds"] / orchestrated,
            "headline_metrics": rows["before"]["headlines"],
        }
    print(f"\nWhole graph, preset {preset!r} ({os.cpu_count()} CPUs)\n")
    print("| variant | seconds | peak RSS (MiB) |\n|---|---|---|")
    print(
        f"| plain script (same library calls) | {plain:.1f} | {report['plain_peak_rss_mib']:.0f} |"
    )
    print(
        f"| Dagster + MLflow (`make run`) | {orchestrated:.1f} | "
        f"{report['orchestrated_peak_rss_mib']:.0f} |"
    )
    if args.before:
        before = report["before"]
        print(
            f"| Dagster + MLflow at {args.before} (before) | "
            f"{before['orchestrated_seconds']:.1f} | {before['peak_rss_mib']:.0f} |"
        )
    print(f"\noverhead: {100 * report['overhead_fraction']:.1f}% of the plain script's time")
    if args.before:
        print(f"speed-up over {args.before}: {report['before']['speedup']:.2f}x")
    before_head = " before s | after / before |" if args.before else ""
    print(f"\n| step | plain s | orchestrated s |{before_head}")
    print("|---|---|---|" + ("---|---|" if args.before else ""))

    def cell(value):
        return "-" if value is None else f"{value:.1f}"

    for name, row in sorted(
        report["steps"].items(), key=lambda item: -(item[1]["orchestrated"] or 0)
    ):
        line = f"| {name} | {cell(row['plain'])} | {cell(row['orchestrated'])} |"
        if args.before:
            ratio = (
                f"{row['orchestrated'] / row['before']:.2f}"
                if row.get("before") and row["orchestrated"] is not None
                else "-"
            )
            line += f" {cell(row.get('before'))} | {ratio} |"
        print(line)
    if args.before:
        print("\n| headline metric | before | after |\n|---|---|---|")
        old = report["before"]["headline_metrics"]
        for name in sorted(set(old) | set(report["headline_metrics"])):
            values = [old.get(name), report["headline_metrics"].get(name)]
            print(
                f"| {name} | " + " | ".join("-" if v is None else f"{v:.4g}" for v in values) + " |"
            )
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
