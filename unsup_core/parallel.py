"""Independent fits on several CPU cores: a grid of small trainings (label budgets x draws x
modes) whose members share nothing but their inputs runs in worker processes, one torch thread
each, and gives the same results as the plain loop (every fit seeds its own random state).

Workers are *spawned* (a fresh interpreter: no lock or thread of the caller, e.g. an
orchestrator's, is copied into them), receive the shared inputs once, and are terminated when
the caller stops, fails or is interrupted, so nothing outlives the call.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any

from threadpoolctl import threadpool_limits

MIN_JOBS_PER_WORKER = 8  # below this a worker's start (~2 s: torch's import) is not repaid


def available_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def auto_workers(n_jobs: int, workers: int | None = None) -> int:
    """Worker processes for ``n_jobs`` independent fits: ``workers`` when given (>= 1), else
    one per available core, but at most one per :data:`MIN_JOBS_PER_WORKER` jobs (a small grid
    runs in this process: 1)."""
    if workers is not None:
        if isinstance(workers, bool) or workers < 1:
            raise ValueError(f"workers={workers!r} must be an int >= 1 or None")
        return int(min(workers, max(n_jobs, 1)))
    return max(1, min(available_cpus(), n_jobs // MIN_JOBS_PER_WORKER))


_shared: tuple = ()
_function: Callable[..., Any] | None = None


def _install(function: Callable[..., Any], shared: tuple) -> None:
    """Worker start: keep the function and the shared inputs; one BLAS/OpenMP thread."""
    global _shared, _function
    _function, _shared = function, shared
    threadpool_limits(1)


def _run(numbered: tuple[int, Any]) -> tuple[int, Any]:
    index, job = numbered
    return index, _function(*_shared, job)


def parallel_map(
    function: Callable[..., Any],
    shared: tuple,
    jobs: Sequence[Any],
    workers: int = 1,
    on_done: Callable[[], None] = lambda: None,
) -> list[Any]:
    """``[function(*shared, job) for job in jobs]``, in that order, on ``workers`` processes.

    ``function`` must be importable (a module-level function) and ``shared``, each job and each
    result picklable; ``shared`` is sent once per worker. ``on_done`` is called here after each
    finished job (a progress display). ``workers=1`` runs the loop in this process. An error in
    a job is raised here (the others are stopped); so is an interrupt."""
    if workers <= 1 or len(jobs) <= 1:
        results = []
        for job in jobs:
            results.append(function(*shared, job))
            on_done()
        return results
    results: list[Any] = [None] * len(jobs)
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(workers, len(jobs)), _install, (function, shared)) as pool:
        # __exit__ terminates the workers, also on an error or an interrupt
        for index, result in pool.imap_unordered(_run, enumerate(jobs)):
            results[index] = result
            on_done()
    return results


__all__ = ["MIN_JOBS_PER_WORKER", "auto_workers", "available_cpus", "parallel_map"]
