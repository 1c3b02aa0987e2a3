"""Independent fits on several CPU cores: a grid of small trainings (label budgets x draws x
modes) whose members share nothing but their inputs runs in worker processes, one torch thread
each, and gives the same results as the plain loop (every fit seeds its own random state).

Workers are *spawned* (a fresh interpreter: no lock or thread of the caller, e.g. an
orchestrator's, is copied into them), receive the shared inputs once, and are terminated when
the caller stops, fails or is interrupted, so nothing outlives the call. A worker whose caller
dies without cleaning up (SIGKILL, or SIGTERM with no handler) exits within a second instead
of finishing its job for nobody.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from threadpoolctl import threadpool_limits

MIN_JOBS_PER_WORKER = 8  # below this a worker's start (~2 s: torch's import) is not repaid


def available_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def auto_workers(
    n_jobs: int, workers: int | None = None, min_jobs_per_worker: int = MIN_JOBS_PER_WORKER
) -> int:
    """Worker processes for ``n_jobs`` independent fits: ``workers`` when given (>= 1), else
    one per available core, but at most one per ``min_jobs_per_worker`` jobs (a worker's start
    must be repaid: a small grid runs in this process, 1)."""
    if workers is not None:
        if isinstance(workers, bool) or workers < 1:
            raise ValueError(f"workers={workers!r} must be an int >= 1 or None")
        return int(min(workers, max(n_jobs, 1)))
    return max(1, min(available_cpus(), n_jobs // min_jobs_per_worker))


_shared: tuple = ()
_function: Callable[..., Any] | None = None


def _exit_with(parent: int, every: float = 0.5) -> None:
    """In a worker: end this process as soon as ``parent`` is no longer its parent (it died
    and the worker was handed to another process)."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def _install(function: Callable[..., Any], shared: tuple) -> None:
    """Worker start: keep the function and the shared inputs; one BLAS/OpenMP thread; a
    watchdog that ends the worker when its caller dies."""
    global _shared, _function
    _function, _shared = function, shared
    threadpool_limits(1)
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()


def _run(numbered: tuple[int, Any]) -> tuple[int, Any]:  # in a worker
    index, job = numbered
    return index, _function(*_shared, job)


def parallel_map(
    function: Callable[..., Any],
    shared: tuple,
    jobs: Sequence[Any],
    workers: int = 1,
    on_done: Callable[[int, Any], None] = lambda index, result: None,
) -> list[Any]:
    """``[function(*shared, job) for job in jobs]``, in that order, on ``workers`` processes.

    ``function`` must be importable (a module-level function) and ``shared``, each job and each
    result picklable; ``shared`` is sent once per worker. ``on_done`` is called here after each
    finished job with its index and result (progress, or reporting a worker's training).
    ``workers=1`` runs the loop in this process. An error in a job is raised here and the other
    workers are stopped; so is an interrupt. A script that
    calls this at import time needs the ``if __name__ == "__main__":`` guard (spawned workers
    import the main module), else its workers cannot start: a ``RuntimeError`` says so."""
    if workers <= 1 or len(jobs) <= 1:
        results = []
        for index, job in enumerate(jobs):
            results.append(function(*shared, job))
            on_done(index, results[-1])
        return results
    results: list[Any] = [None] * len(jobs)
    executor = ProcessPoolExecutor(
        min(workers, len(jobs)),
        multiprocessing.get_context("spawn"),
        initializer=_install,
        initargs=(function, shared),
    )
    finished_all = False
    try:
        pending = {executor.submit(_run, numbered) for numbered in enumerate(jobs)}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                index, result = future.result()  # a job's error is raised here
                results[index] = result
                on_done(index, result)
        finished_all = True
    except BrokenProcessPool as error:
        raise RuntimeError(
            f"the {workers} worker processes of {function.__name__} stopped before finishing "
            "(killed, out of memory, or unable to start: a script that runs this at import "
            "needs the `if __name__ == '__main__':` guard); set workers=1 to run in this "
            "process"
        ) from error
    finally:
        if finished_all:
            executor.shutdown(wait=True)  # idle workers exit cleanly
        else:  # an error or an interrupt: nothing outlives the call
            processes = list((getattr(executor, "_processes", None) or {}).values())
            executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                if process.is_alive():
                    process.terminate()
            for process in processes:
                process.join()
    return results


__all__ = ["MIN_JOBS_PER_WORKER", "auto_workers", "available_cpus", "parallel_map"]
