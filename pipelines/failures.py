"""How a step's errors end it, wherever in the step they are raised:

- deterministic errors (bad data, bad config, divergence) fail the step at once, no retry, with
  a one-line cause;
- transient errors (a file system, object store, tracking server or database that blinked) get
  one more try after a pause;
- an interrupt (SIGINT, SIGTERM, Dagster's termination) cancels the run: it is reported as
  CANCELING before it propagates, so Dagster ends the run CANCELED instead of retrying the step;
- anything else (a bug) fails the step at once with its traceback in the event log.

The job therefore has no blanket retry policy: Dagster turns an interrupt into a retry when one
is set (``op_execution_error_boundary``), so a Ctrl-C would be retried and the run would succeed.
"""

import functools
from collections.abc import Callable
from typing import Any

from dagster import DagsterRunStatus, Failure, RetryRequested
from dagster._core.errors import DagsterExecutionInterruptedError
from mlflow.exceptions import MlflowException
from sqlalchemy.exc import OperationalError

from unsup_core.training import TrainingDiverged

DETERMINISTIC_ERRORS = (ValueError, TypeError, KeyError, TrainingDiverged)
TRANSIENT_ERRORS = (OSError, MlflowException, OperationalError)
TRANSIENT_RETRIES = 1
RETRY_DELAY_SECONDS = 10
INTERRUPTS = (KeyboardInterrupt, DagsterExecutionInterruptedError)


def one_line(error: BaseException) -> str:
    """``Type: first line of the message`` (the full text stays in the event log)."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def request_cancel(context: Any, reason: str) -> None:
    """Report the run CANCELING (what Dagster's own termination does first), unless it is
    already being canceled or has ended."""
    instance, run = context.instance, context.run
    current = instance.get_run_by_id(run.run_id)
    if current is not None and current.status in (
        DagsterRunStatus.STARTED,
        DagsterRunStatus.STARTING,
    ):
        instance.report_run_canceling(current, message=reason)


def step_errors(function: Callable) -> Callable:
    """Wrap an asset body so its errors end the step as described in this module."""

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (Failure, RetryRequested):
            raise
        except DETERMINISTIC_ERRORS as error:
            raise Failure(one_line(error), allow_retries=False) from error
        except TRANSIENT_ERRORS as error:
            raise RetryRequested(TRANSIENT_RETRIES, RETRY_DELAY_SECONDS) from error
        except INTERRUPTS:
            context = kwargs.get("context", args[0] if args else None)
            if context is not None:
                request_cancel(context, f"{function.__name__} was interrupted")
            raise

    return guarded


__all__ = ["DETERMINISTIC_ERRORS", "TRANSIENT_ERRORS", "one_line", "step_errors"]
