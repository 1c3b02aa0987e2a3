"""Celery settings the workers import (dagster_celery reads a module of this name): the broker
of the compose file, one task per worker process at a time, tasks acknowledged after they ran."""

import os

broker_url = os.environ.get("UNSUP_CELERY_BROKER", "redis://redis:6379/0")
result_backend = broker_url.rsplit("/", 1)[0] + "/1"
worker_prefetch_multiplier = 1
task_acks_late = True
