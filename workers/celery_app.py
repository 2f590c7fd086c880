"""The Celery application: broker from REDIS_URL, queue names as constants, reliability defaults."""
from __future__ import annotations

import os

from celery import Celery

QUEUE_DEFAULT = "correspondence.default"
QUEUES = (QUEUE_DEFAULT,)


def make_celery(broker_url: str | None = None) -> Celery:
    broker = broker_url or os.environ.get("REDIS_URL")
    if not broker:
        raise RuntimeError("REDIS_URL is not set (use `correspondence run` for the embedded default)")
    celery = Celery("correspondence", broker=broker, include=[])
    celery.conf.update(
        task_default_queue=QUEUE_DEFAULT,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_time_limit=120,
        task_soft_time_limit=100,
        worker_prefetch_multiplier=4,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 300},
        task_ignore_result=True,
        timezone="UTC",
        enable_utc=True,
    )
    return celery


app = make_celery()
