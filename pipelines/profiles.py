"""Deployment profiles, one code location: ``local`` (the default: in-process executor, SQLite,
local folders) and ``cluster`` (Celery executor on a Redis broker, stored values in object
storage, Dagster and MLflow on PostgreSQL through their own configuration). A profile is chosen
by the environment of the processes that load the code location, never by editing code:

``UNSUP_PROFILE``        ``local`` (default) or ``cluster``
``UNSUP_EXECUTOR``       ``in_process`` (local default), ``multiprocess``, ``celery`` (cluster) or
                         ``k8s`` (each step a Kubernetes Job: deploy/k8s)
``UNSUP_CELERY_BROKER``  the Celery broker (cluster default ``redis://127.0.0.1:6379/0``)
``UNSUP_CELERY_BACKEND`` the Celery result backend (default: the broker's database 1)
``UNSUP_STEP_QUEUES``    steps sent to other Celery queues, ``asset=queue,asset=queue``
``UNSUP_STORAGE_URI``    where values pass between steps (``s3://bucket/prefix``; see io_managers)
``UNSUP_LOCK_DATABASE_URL`` PostgreSQL for cross-host locks (see resources)

Dagster's own instance (run and event storage, run queue, run monitoring) is configured in
``$DAGSTER_HOME/dagster.yaml`` (``deploy/cluster/dagster.yaml``), MLflow by
``MLFLOW_TRACKING_URI``.
"""

import os

from dagster import ExecutorDefinition, in_process_executor, multiprocess_executor

PROFILES = ("local", "cluster")
EXECUTORS = ("in_process", "multiprocess", "celery", "k8s")
QUEUE_TAG = "dagster-celery/queue"


def profile() -> str:
    name = os.environ.get("UNSUP_PROFILE", "local")
    if name not in PROFILES:
        raise ValueError(f"UNSUP_PROFILE={name!r} is not one of {list(PROFILES)}")
    return name


def executor_name() -> str:
    name = os.environ.get("UNSUP_EXECUTOR") or (
        "celery" if profile() == "cluster" else "in_process"
    )
    if name not in EXECUTORS:
        raise ValueError(f"UNSUP_EXECUTOR={name!r} is not one of {list(EXECUTORS)}")
    return name


def executor() -> ExecutorDefinition:
    """The job's executor. In-process by default: a multiprocess step costs 5-12 s to start
    (torch, Dagster and MLflow imported again), more than a tiny model trains; Celery keeps warm
    workers, possibly on other machines."""
    name = executor_name()
    if name == "in_process":
        return in_process_executor
    if name == "multiprocess":
        return multiprocess_executor
    if name == "k8s":
        from dagster_k8s import k8s_job_executor  # the cluster extra

        return k8s_job_executor
    from .celery_executor import resilient_celery_executor  # the cluster extra

    broker = os.environ.get("UNSUP_CELERY_BROKER", "redis://127.0.0.1:6379/0")
    backend = os.environ.get("UNSUP_CELERY_BACKEND") or broker.rsplit("/", 1)[0] + "/1"
    return resilient_celery_executor.configured({"broker": broker, "backend": backend})


def step_queues() -> dict[str, str]:
    """Asset name -> Celery queue, from ``UNSUP_STEP_QUEUES`` (``step=queue,step=queue``)."""
    return dict(
        item.split("=", 1)
        for item in os.environ.get("UNSUP_STEP_QUEUES", "").split(",")
        if "=" in item
    )


def step_tags(asset_name: str) -> dict[str, str]:
    """Op tags of an asset's step: its Celery queue when ``UNSUP_STEP_QUEUES`` names one."""
    routes = step_queues()
    return {QUEUE_TAG: routes[asset_name]} if asset_name in routes else {}
