"""SIGINT and SIGTERM cancel a run; SIGKILL leaves it open until the next start closes it."""

import signal

import pytest
from dagster import DagsterRunStatus

from .conftest import send

STEP = "autoencoder_zoo"  # a step that trains for a few seconds in the tiny preset


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_cancels_the_run_and_ends_its_mlflow_runs_killed(store, signum):
    process = store.start("tiny")
    store.wait_for_step(process, STEP)
    seconds = send(process, signum)
    out = process.stdout.read()
    assert seconds < 10
    assert process.returncode == 130, out[-2000:] + process.stderr.read()[-2000:]
    assert "Interrupted: run" in out and "was canceled" in out
    assert f"{STEP}: interrupted (SIGINT or SIGTERM)" in out
    [run] = store.dagster_runs()
    assert run.status == DagsterRunStatus.CANCELED  # not retried, not a success
    assert not store.running()
    statuses = {
        r.data.tags.get("dagster.asset_key", r.data.tags.get("dagster.level")): r.info.status
        for r in store.mlflow_runs()
        if r.data.tags.get("dagster.level") in ("asset", "run")
    }
    assert statuses[STEP] == "KILLED" and statuses["run"] == "KILLED"
    assert statuses["raw_dataset"] == "FINISHED"


@pytest.mark.slow
def test_a_killed_run_is_closed_by_the_next_start(store):
    beat = {"UNSUP_HEARTBEAT_SECONDS": "1"}
    process = store.start("tiny", **beat)
    store.wait_for_step(process, STEP)
    send(process, signal.SIGKILL)
    [killed] = store.dagster_runs()
    assert killed.status == DagsterRunStatus.STARTED and store.running()  # left open
    # The next start (here with a run config it refuses, so nothing else runs) closes them.
    import time

    time.sleep(7)  # six heartbeats without a beat
    bad = store.root / "bad.yaml"
    bad.write_text("ops:\n  plain_autoencoder:\n    config:\n      trainer:\n        lr: -1.0\n")
    completed = store.run(str(bad), **beat)
    assert completed.returncode == 2
    assert f"Closed run {killed.run_id} left open by a killed process" in completed.stdout
    assert "plain_autoencoder.trainer: lr=-1.0 must be > 0" in completed.stderr
    [closed] = store.dagster_runs()
    assert closed.status == DagsterRunStatus.FAILURE
    assert not store.running()
    orphans = [r for r in store.mlflow_runs() if r.data.tags.get("unsup.orphan") == "true"]
    assert {r.data.tags.get("dagster.asset_key") for r in orphans} >= {STEP}
    assert all(r.info.status == "FAILED" and "orphan" in r.data.tags["error"] for r in orphans)
