"""Live progress of a running asset: one line per few seconds in the Dagster event log
(``progress <what>: <done>/<total> <unit> · <detail>``), which the UI shows as the step runs
and ``make run``'s terminal turns into a bar with the time left (pipelines.run_logging)."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from unsup_core.training import Callback, EpochLog

EVERY_SECONDS = 2.0  # at most one progress line per this many seconds (and the last one)
PATTERN = re.compile(r"progress (?P<what>\S+): (?P<done>\d+)/(?P<total>\d+) (?P<unit>\w+)")


@dataclass(frozen=True)
class ProgressLine:
    what: str
    done: int
    total: int
    unit: str


def progress_message(what: str, done: int, total: int, unit: str, detail: str = "") -> str:
    return f"progress {what}: {done}/{total} {unit}" + (f" · {detail}" if detail else "")


def parse_progress(message: str) -> ProgressLine | None:
    """The progress line in a log message (Dagster prefixes it with run and step), or None."""
    found = PATTERN.search(message)
    if found is None:
        return None
    return ProgressLine(found["what"], int(found["done"]), int(found["total"]), found["unit"])


class Throttled:
    """``report(done, total, unit, detail)`` to a logger's ``info`` at most every
    :data:`EVERY_SECONDS` (always the first and the last step)."""

    def __init__(self, log, what: str, every: float = EVERY_SECONDS) -> None:
        self.log, self.what, self.every = log, what, every
        self._last = -math.inf

    def __call__(self, done: int, total: int, unit: str, detail: str = "") -> None:
        now = time.monotonic()
        if done in (1, total) or now - self._last >= self.every:
            self._last = now
            self.log.info(progress_message(self.what, done, total, unit, detail))


class EpochProgress(Callback):
    """Trainer callback: epoch ``k`` of ``n`` with the training loss, throttled."""

    def __init__(self, log, what: str, every: float = EVERY_SECONDS) -> None:
        self.report = Throttled(log, what, every)
        self.total = 0

    def on_epochs_planned(self, epochs: int) -> None:
        self.total = epochs

    def on_epoch_end(self, log: EpochLog) -> None:
        loss = log.train.get("loss", log.train.get("d_loss"))
        detail = f"train loss {loss:.4g}" if loss is not None else ""
        self.report(log.epoch, max(self.total, log.epoch), "epochs", detail)


__all__ = ["EpochProgress", "ProgressLine", "Throttled", "parse_progress", "progress_message"]
