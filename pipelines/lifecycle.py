"""What happens around a run, whoever started it: a run killed hard is recognised and closed, and
a run that has ended settles its MLflow runs and its registry candidates.

Liveness comes from the Dagster instance's run records. A run executed in-process by
``make run`` carries a heartbeat tag (``unsup/heartbeat``, refreshed every
``HEARTBEAT_SECONDS``); when that heartbeat is older than ``STALE_AFTER_SECONDS`` the process is
gone (SIGKILL, OOM, a watchdog) and the run is marked FAILURE. Runs launched by the webserver or
the daemon have no heartbeat: their code server marks a dead run worker failed, and the cluster
profile's ``run_monitoring`` fails runs that hang (deploy/cluster/dagster.yaml). MLflow runs still
RUNNING whose Dagster run has ended (or was just found dead) are ended FAILED (KILLED for a
canceled run) with a tag saying why. Callers: ``make run`` before it starts, the
``orphaned_runs_sensor`` (daemon), and the report before it reads history.
"""

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import AssetCheckSeverity, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.events import DagsterEventType

from .registry import settle_pending
from .resources import MlflowTracking
from .tags import TAG_RUN_ID

HEARTBEAT_TAG = "unsup/heartbeat"
# $UNSUP_HEARTBEAT_SECONDS (default 10): how often a run's heartbeat is refreshed; a run is dead
# when its heartbeat is six beats old
HEARTBEAT_SECONDS = float(os.environ.get("UNSUP_HEARTBEAT_SECONDS", "10"))
STALE_AFTER_SECONDS = 6 * HEARTBEAT_SECONDS
ORPHAN_TAG = "unsup.orphan"
OPEN_STATUSES = [
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
MLFLOW_STATUS = {DagsterRunStatus.CANCELED: "KILLED", DagsterRunStatus.SUCCESS: "FINISHED"}


@contextmanager
def heartbeat(
    instance: DagsterInstance, run_id: str, every: float = HEARTBEAT_SECONDS
) -> Iterator[None]:
    """Refresh ``unsup/heartbeat`` on the run's record every ``every`` seconds while the block
    runs (the run record appears once execution has created it)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            if instance.get_run_by_id(run_id) is not None:
                instance.add_run_tags(run_id, {HEARTBEAT_TAG: f"{time.time():.0f}"})
            stop.wait(every)

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)


def dead_runs(instance: DagsterInstance, stale_after: float = STALE_AFTER_SECONDS) -> list:
    """Open runs (starting, started, canceling) whose heartbeat stopped ``stale_after`` ago."""
    now = time.time()
    found = []
    for run in instance.get_runs(RunsFilter(statuses=OPEN_STATUSES)):
        beat = run.tags.get(HEARTBEAT_TAG)
        if beat is not None and now - float(beat) > stale_after:
            found.append(run)
    return found


def close_orphans(
    instance: DagsterInstance, mlflow: MlflowTracking, stale_after: float = STALE_AFTER_SECONDS
) -> list[str]:
    """Mark dead runs FAILURE, then end every MLflow run still RUNNING whose Dagster run has
    ended; returns one line per action."""
    lines = []
    for run in dead_runs(instance, stale_after):
        beat = time.strftime("%H:%M:%S", time.localtime(float(run.tags[HEARTBEAT_TAG])))
        message = f"no heartbeat since {beat}: the process running it was killed"
        instance.report_run_failed(run, message)
        lines.append(f"Closed run {run.run_id} left open by a killed process ({message})")
    client = mlflow.client()
    experiment = client.get_experiment_by_name(mlflow.experiment_name)
    if experiment is None:
        return lines
    open_runs = client.search_runs(
        [experiment.experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=5000
    )
    dagster_ids = {r.data.tags.get(TAG_RUN_ID) for r in open_runs} - {None}
    for dagster_id in sorted(dagster_ids):
        record = instance.get_run_by_id(dagster_id)
        if record is None or not record.is_finished:
            continue  # alive, or a run of another Dagster instance: not ours to judge
        status = MLFLOW_STATUS.get(record.status, "FAILED")
        closed = mlflow.close_open_runs(
            dagster_id,
            "FAILED" if status == "FINISHED" else status,
            f"orphan: Dagster run {dagster_id} ended {record.status.value} while this run was "
            "still RUNNING (its process was lost)",
            extra_tags={ORPHAN_TAG: "true"},
        )
        if closed:
            lines.append(
                f"Ended {len(closed)} MLflow run(s) of {record.status.value} run {dagster_id}"
            )
    return lines


def gates_passed(instance: DagsterInstance, run_id: str) -> list[str]:
    """Names of the run's gates (asset checks of severity ERROR) that did not pass (empty:
    every gate passed). Warnings (severity WARN) do not hold a model back."""
    failed = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR:
            failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    return failed


def failed_checks(instance: DagsterInstance, run_id: str) -> list[str]:
    """One line per asset check of the run that did not pass, so far: ``asset:check
    (SEVERITY): finding`` (the check's ``finding`` metadata where it has one)."""
    lines = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        finding = evaluation.metadata.get("finding")
        text = f": {finding.value}" if finding is not None else ""
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        lines.append(f"{name} ({evaluation.severity.value}){text}")
    return lines


def settle_run(instance: DagsterInstance, mlflow: MlflowTracking, run_id: str) -> list[str]:
    """After a run ended: its MLflow runs still RUNNING end (KILLED if canceled, else FAILED),
    and its pending registry candidates become champions only if it succeeded with every gate
    passed; otherwise they are tagged with the outcome."""
    record = instance.get_run_by_id(run_id)
    if record is None or not record.is_finished:
        return []
    status = record.status
    if status != DagsterRunStatus.SUCCESS:
        mlflow.close_open_runs(
            run_id,
            MLFLOW_STATUS.get(status, "FAILED"),
            f"Dagster run {run_id} ended {status.value} while this run was still RUNNING",
        )
    failed_gates = gates_passed(instance, run_id)
    succeeded = status == DagsterRunStatus.SUCCESS and not failed_gates
    if status != DagsterRunStatus.SUCCESS:
        outcome = f"Dagster run {run_id} ended {status.value}"
    elif failed_gates:
        outcome = f"Dagster run {run_id} succeeded but gates failed: {', '.join(failed_gates)}"
    else:
        outcome = f"Dagster run {run_id} succeeded, every gate passed"
    return settle_pending(mlflow.client(), run_id, succeeded, outcome)


__all__ = ["close_orphans", "dead_runs", "heartbeat", "settle_run"]
