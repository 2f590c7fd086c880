"""The ceiling for a Celery task round trip on this Redis: a no-op task (bench only, not product code).

    celery -A noop_celery worker ...   (from bench/; NOOP_QUEUE names the queue, REDIS_URL the broker)

The task only counts itself (one INCR) so that the publisher can tell when every task has run.
Settings mirror workers/celery_app.py: acks_late, prefetch multiplier 2, results ignored.
"""

from __future__ import annotations

import os

import redis
from celery import Celery
from kombu import Queue

QUEUE = os.environ.get("NOOP_QUEUE", "bench.noop")
COUNTER = f"{QUEUE}.done"
TASK = "bench.noop"

app = Celery("bench-noop", broker=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
app.conf.update(
    task_queues=[Queue(QUEUE)],
    task_default_queue=QUEUE,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=2,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"visibility_timeout": 600},
)

_counter: redis.Redis | None = None


@app.task(name=TASK)
def noop() -> None:
    global _counter
    if _counter is None:
        _counter = redis.Redis.from_url(app.conf.broker_url)
    _counter.incr(COUNTER)
