"""Scheduled retraining: the whole graph re-materialised on a cron (created stopped).

Settings come from the environment of the code location: ``UNSUP_RETRAIN_CRON`` (default
``0 2 * * 1``, Mondays 02:00), ``UNSUP_RETRAIN_TIMEZONE`` (default UTC) and
``UNSUP_RETRAIN_PRESET`` (default ``default``). Turn it on in the UI (Automation) or with
``dagster schedule start retrain_schedule``.
"""

import os

from dagster import (
    DefaultScheduleStatus,
    JobDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from .presets import load_preset

DEFAULT_CRON = "0 2 * * 1"


def build_retrain_schedule(
    job: JobDefinition, cron: str | None = None, preset: str | None = None
) -> ScheduleDefinition:
    """A stopped schedule that runs ``job`` with ``preset``'s config at every tick of ``cron``."""
    cron = cron or os.environ.get("UNSUP_RETRAIN_CRON", DEFAULT_CRON)
    preset = preset or os.environ.get("UNSUP_RETRAIN_PRESET", "default")
    run_config = load_preset(preset)

    @schedule(
        name="retrain_schedule",
        job=job,
        cron_schedule=cron,
        execution_timezone=os.environ.get("UNSUP_RETRAIN_TIMEZONE", "UTC"),
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"Retrain the whole graph ({preset!r} preset) on cron {cron!r}.",
    )
    def retrain_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        tick = context.scheduled_execution_time
        key = tick.isoformat() if tick is not None else "manual"
        return RunRequest(
            run_key=f"retrain-{key}",
            run_config=run_config,
            tags={"unsup/trigger": "schedule", "unsup/preset": preset, "unsup/scheduled_time": key},
        )

    return retrain_schedule
