"""Fits on several processes: results in the jobs' order and equal to the plain loop, shared
inputs reach every worker, a job's error arrives whole (TrainingDiverged keeps its fields), and
the worker count rule, and workers do not outlive a caller that was killed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from unsup_core.parallel import MIN_JOBS_PER_WORKER, auto_workers, parallel_map
from unsup_core.training import TrainingDiverged


def scaled_sum(weights: np.ndarray, offset: float, job: int) -> tuple[int, float, int]:
    """A job's result, with the process that computed it."""
    return job, float(weights.sum() * job + offset), os.getpid()


def diverges_at(limit: int, job: int) -> int:
    if job == limit:
        raise TrainingDiverged(epoch=job, term="recon", value=float("nan"))
    return job


def test_results_come_in_the_jobs_order_and_equal_the_plain_loop():
    weights, done = np.arange(4.0), []
    jobs = list(range(12))
    parallel = parallel_map(scaled_sum, (weights, 0.5), jobs, 2, lambda i, r: done.append(i))
    plain = parallel_map(scaled_sum, (weights, 0.5), jobs, 1)
    assert [r[:2] for r in parallel] == [r[:2] for r in plain]
    assert [r[0] for r in parallel] == jobs and sorted(done) == jobs
    assert {r[2] for r in plain} == {os.getpid()}  # workers=1: this process
    assert os.getpid() not in {r[2] for r in parallel}  # workers: other processes


def test_an_error_in_a_job_is_raised_here_with_its_fields():
    with pytest.raises(TrainingDiverged, match="epoch 3 \\(train\\): loss term 'recon'") as error:
        parallel_map(diverges_at, (3,), list(range(6)), 2)
    assert (error.value.epoch, error.value.term, error.value.phase) == (3, "recon", "train")


def dies(job: int) -> int:
    os._exit(3)  # a worker killed (out of memory, a signal) leaves no result


def test_a_worker_that_dies_is_an_error_naming_the_way_out():
    with pytest.raises(RuntimeError, match=r"worker processes of dies stopped.*set workers=1"):
        parallel_map(dies, (), [1, 2], 2)


@pytest.mark.parametrize(
    "jobs, workers, expected",
    [(5, 4, 4), (2, 4, 2), (0, 3, 1), (MIN_JOBS_PER_WORKER - 1, None, 1)],
)
def test_worker_count(jobs, workers, expected):
    assert auto_workers(jobs, workers) == expected


def test_the_automatic_count_is_one_per_core_for_a_large_grid(monkeypatch):
    monkeypatch.setattr("unsup_core.parallel.available_cpus", lambda: 2)
    assert auto_workers(2 * MIN_JOBS_PER_WORKER) == 2
    assert auto_workers(2 * MIN_JOBS_PER_WORKER - 1) == 1
    assert auto_workers(1000) == 2


def test_a_bad_worker_count_raises():
    with pytest.raises(ValueError, match="workers=0 must be an int >= 1 or None"):
        auto_workers(10, 0)


def children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found |= {int(child) for child in text.split()}
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        return " Z " not in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:4]
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_workers_exit_when_their_caller_is_killed():
    script = (
        "import time\nfrom unsup_core.parallel import parallel_map\n"
        "if __name__ == '__main__':\n    parallel_map(time.sleep, (), [600.0, 600.0], 2)\n"
    )
    root = Path(__file__).resolve().parents[2]
    caller = subprocess.Popen([sys.executable, "-c", script], cwd=root)
    try:
        deadline, workers = time.time() + 60, set()
        while time.time() < deadline and len(workers) < 2:
            time.sleep(0.5)
            workers = {p for p in children(caller.pid) if "spawn_main" in cmdline(p)}
        assert len(workers) == 2, "the workers did not start"
        time.sleep(1.0)  # in their jobs (10 minutes each)
        caller.send_signal(signal.SIGKILL)
        caller.wait()
        deadline = time.time() + 15
        while time.time() < deadline and any(alive(p) for p in workers):
            time.sleep(0.2)
        assert not any(alive(p) for p in workers), "workers outlived their killed caller"
    finally:
        caller.kill()


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except FileNotFoundError:
        return ""
