"""Decay schedules for learning rates and neighbourhood radii: value(t) for t = 0 .. total.

``linear``       start + (end - start) t / total
``exponential``  start (end / start)^(t / total)                  (end > 0)
``inverse``      start / (1 + (start / end - 1) t / total)        (end > 0; reaches end at total)
                 start / (1 + 100 t / total)                      (end = 0, MiniSom's convention)
``constant``     start
or any callable ``f(t, total) -> value`` (vectorised over a numpy array ``t``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Union

import numpy as np

from ..validation import choices

Schedule = Literal["linear", "exponential", "inverse", "constant"]
SCHEDULES = choices(Schedule)
ScheduleLike = Union[Schedule, Callable[[np.ndarray, int], np.ndarray]]


def check_schedule(name: str, schedule: ScheduleLike, start: float, end: float) -> None:
    """Validate a schedule choice with an error naming the parameter and the allowed set."""
    if callable(schedule):
        return
    if schedule not in SCHEDULES:
        raise ValueError(
            f"{name}={schedule!r} is not one of {list(SCHEDULES)} or a callable f(t, total)"
        )
    if schedule == "exponential" and not (start > 0 and end > 0):
        raise ValueError(f"{name}='exponential' needs positive start and end, got {start} -> {end}")
    if schedule == "inverse" and end < 0:
        raise ValueError(f"{name}='inverse' needs end >= 0, got {end}")


def schedule_values(
    schedule: ScheduleLike, start: float, end: float, total: int, steps: np.ndarray | None = None
) -> np.ndarray:
    """The schedule at ``steps`` (default ``0 .. total - 1``) as a float64 array."""
    t = np.arange(total, dtype=np.float64) if steps is None else np.asarray(steps, dtype=np.float64)
    total = max(int(total), 1)
    if callable(schedule):
        return np.broadcast_to(np.asarray(schedule(t, total), dtype=np.float64), t.shape).copy()
    if schedule == "linear":
        return start + (end - start) * t / total
    if schedule == "exponential":
        return start * (end / start) ** (t / total)
    if schedule == "inverse":
        if end == 0:
            return start / (1 + 100.0 * t / total)
        return start / (1 + (start / end - 1) * t / total)
    if schedule == "constant":
        return np.full_like(t, start)
    raise ValueError(f"schedule={schedule!r} is not one of {list(SCHEDULES)} or a callable")
