"""Dagster's Celery executor, with one fix: a step whose worker process dies (the OOM killer, a
kill -9, a lost machine) fails, instead of leaving the run waiting forever.

dagster-celery 0.29 records such a task's error but keeps the step in flight, so its execution
loop never completes (the run stays STARTED). Here the task's result is wrapped: an error that
is not Dagster's own (Celery's ``WorkerLostError``, say) comes back as a STEP_FAILURE event of
that step, so the step fails, its downstream steps are skipped, the run ends FAILURE, and it can
be re-executed from the failure.
"""

import sys

from celery.exceptions import TaskRevokedError
from dagster import executor, multiple_process_executor_requirements
from dagster._core.events import DagsterEvent, StepFailureData
from dagster._core.execution.retries import RetryMode
from dagster._serdes import serialize_value
from dagster._utils.error import serializable_error_info_from_exc_info
from dagster_celery.core_execution_loop import core_celery_execution_loop
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor, _submit_task


class FailingOnLostWorker:
    """A Celery result whose ``get()`` turns a task that died outside Dagster into the step's
    failure event (serialised, as a worker would have sent it)."""

    def __init__(self, result, plan_context, step) -> None:
        self.result, self.plan_context, self.step = result, plan_context, step

    def ready(self) -> bool:
        return self.result.ready()

    def revoke(self) -> None:
        self.result.revoke()

    def get(self) -> list[str]:
        try:
            return self.result.get()
        except TaskRevokedError:
            raise
        except Exception:
            failure = DagsterEvent.step_failure_event(
                step_context=self.plan_context.for_step(self.step),
                step_failure_data=StepFailureData(
                    error=serializable_error_info_from_exc_info(sys.exc_info()),
                    user_failure_data=None,
                ),
            )
            return [serialize_value(failure)]


def _submit_failing_on_lost_worker(app, plan_context, step, queue, priority, known_state):
    result = _submit_task(app, plan_context, step, queue, priority, known_state)
    return FailingOnLostWorker(result, plan_context, step)


class ResilientCeleryExecutor(CeleryExecutor):
    def execute(self, plan_context, execution_plan):
        return core_celery_execution_loop(
            plan_context, execution_plan, step_execution_fn=_submit_failing_on_lost_worker
        )


@executor(
    name="celery",
    config_schema=CELERY_CONFIG,
    requirements=multiple_process_executor_requirements(),
)
def resilient_celery_executor(init_context):
    """The Celery executor (same config as dagster-celery's) whose lost workers fail their
    step."""
    config = init_context.executor_config
    return ResilientCeleryExecutor(
        retries=RetryMode.from_config(config["retries"]),
        broker=config.get("broker"),
        backend=config.get("backend"),
        include=config.get("include"),
        config_source=config.get("config_source"),
    )
