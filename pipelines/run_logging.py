"""Loggers for runs started from the terminal (``make run``): every event, tracebacks included,
goes to a log file; the terminal gets a progress bar over the steps and one line per failed step
with its cause. The Dagster event log (the UI) keeps everything either way."""

import logging
import os
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import TextIO

from dagster import DagsterEvent, Field, InitLoggerContext, colored_console_logger, logger
from dagster._core.log_manager import LOG_RECORD_EVENT_ATTR
from dagster._utils.error import SerializableErrorInfo
from tqdm.auto import tqdm

from .progress import ProgressLine, parse_progress


@cache
def terminal() -> TextIO:
    """The process's stderr as it was at the first call (before a run starts): a persistent
    Dagster instance captures a run's stdout and stderr into its compute logs (the UI shows
    them), which would swallow the progress bar."""
    return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)


def run_log_path(run_id: str) -> Path:
    """Where a terminal run's full log goes: ``$DAGSTER_HOME/logs/<run id>.log``."""
    home = os.environ.get("DAGSTER_HOME") or tempfile.gettempdir()
    return Path(home) / "logs" / f"{run_id}.log"


INTERRUPTED = ("DagsterExecutionInterruptedError", "KeyboardInterrupt")


def root_cause(error: SerializableErrorInfo) -> str:
    """``Type: first line`` of the innermost cause (a Failure's or a retry's reason)."""
    while error.cause is not None:
        error = error.cause
    if error.cls_name in INTERRUPTED:
        return "interrupted (SIGINT or SIGTERM): the run was canceled"
    lines = error.message.strip().splitlines()
    first = lines[0] if lines else ""
    if error.cls_name and ": " in first:  # "package.module.Class: text" -> "Class: text"
        first = f"{error.cls_name}: {first.split(': ', 1)[1]}"
    return first or error.cls_name or "error"


def step_failure_cause(event: DagsterEvent) -> str:
    """The cause of a step failure event: one line, or a Failure's description (the run config
    check lists one bad field per line)."""
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description.strip()
    return root_cause(data.error) if data.error is not None else "failed"


def _event(record: logging.LogRecord) -> DagsterEvent | None:
    return getattr(record, LOG_RECORD_EVENT_ATTR, None)


class StepProgressHandler(logging.Handler):
    """A tqdm bar advanced by each finished step, and below it the running asset's own progress
    (epochs or fits, with tqdm's estimate of the time left) from its ``progress`` log lines
    (pipelines.progress); failures printed above them, one line each."""

    def __init__(self, total: int) -> None:
        super().__init__(logging.DEBUG)
        self.bar = tqdm(
            total=total, unit="step", desc="unsup_pipeline", leave=True, file=terminal()
        )
        self.inner: tqdm | None = None
        self.inner_what = ""
        self.skipped = 0

    def _show_progress(self, line: ProgressLine) -> None:
        if self.inner is None or line.what != self.inner_what or line.done < self.inner.n:
            if self.inner is not None:
                self.inner.close()
            self.inner = tqdm(
                total=line.total, unit=line.unit, desc=f"  {line.what}", leave=False,
                file=terminal(), position=1,
            )  # fmt: skip
            self.inner_what = line.what
        self.inner.total = line.total
        self.inner.update(line.done - self.inner.n)

    def _close_inner(self, step_key: str | None) -> None:
        if self.inner is not None and self.inner_what.split("/")[0] == step_key:
            self.inner.close()
            self.inner, self.inner_what = None, ""

    def emit(self, record: logging.LogRecord) -> None:
        event = _event(record)
        if event is None:
            message = getattr(record, "dagster_meta", {}).get("orig_message") or record.msg
            line = parse_progress(str(message))
            if line is not None:
                self._show_progress(line)
            return
        if event.is_step_start:
            self.bar.set_postfix_str(event.step_key or "", refresh=True)
        elif event.is_step_success:
            self._close_inner(event.step_key)
            self.bar.update(1)
        elif event.is_step_failure:
            self._close_inner(event.step_key)
            self.bar.update(1)
            cause = step_failure_cause(event).splitlines()
            self.bar.write("\n".join([f"  FAILED {event.step_key}: {cause[0]}", *cause[1:]]))
        elif event.is_step_skipped:
            self.bar.update(1)
            self.skipped += 1

    def close(self) -> None:  # Dagster closes a run's loggers between its phases: keep the bar
        super().close()

    def finish(self) -> None:
        if self.inner is not None:
            self.inner.close()
        self.bar.close()


@logger(
    config_schema={"total_steps": Field(int, default_value=0)},
    description="A progress bar over the run's steps; one line per failed step (its cause).",
)
def step_progress(init_context: InitLoggerContext) -> logging.Logger:
    log = logging.getLogger(f"unsup.step_progress.{init_context.run_id}")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    if not log.handlers:  # Dagster builds a run's loggers more than once
        log.addHandler(StepProgressHandler(init_context.logger_config["total_steps"]))
    return log


@logger(
    config_schema={
        "path": Field(str, default_value="", description="empty: $DAGSTER_HOME/logs/<run id>.log"),
        "log_level": Field(str, default_value="DEBUG"),
    },
    description="Every event of the run (tracebacks included) appended to a file.",
)
def run_log_file(init_context: InitLoggerContext) -> logging.Logger:
    path = Path(init_context.logger_config["path"] or run_log_path(init_context.run_id or "run"))
    path.parent.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"unsup.run_log_file.{path}")
    log.propagate = False
    log.setLevel(init_context.logger_config["log_level"])
    if not log.handlers:  # Dagster builds a run's loggers more than once
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
    return log


def close_run_loggers(run_id: str, path: Path) -> None:
    """Close the bar and the log file of a finished run."""
    for name in (f"unsup.step_progress.{run_id}", f"unsup.run_log_file.{path}"):
        log = logging.getLogger(name)
        for handler in list(log.handlers):
            log.removeHandler(handler)
            if isinstance(handler, StepProgressHandler):
                handler.finish()
            handler.close()


RUN_LOGGERS = {
    "console": colored_console_logger,
    "step_progress": step_progress,
    "run_log_file": run_log_file,
}
