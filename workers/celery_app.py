"""The Celery application: broker from REDIS_URL, queue names as constants, reliability defaults.

Every queue has a consumer role in the Procfile (tests check it). Queue names carry a prefix
(CORRESPONDENCE_QUEUE_PREFIX) so that separate deployments or test runs can share one Redis.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

PREFIX = os.environ.get("CORRESPONDENCE_QUEUE_PREFIX", "correspondence")
QUEUE_NOTIFICATIONS = f"{PREFIX}.notifications"
QUEUE_MAINTENANCE = f"{PREFIX}.maintenance"
QUEUES = (QUEUE_NOTIFICATIONS, QUEUE_MAINTENANCE)

TASK_CREATE_ORDERS = "notifications.create_orders"
TASK_RELAY_OUTBOX = "maintenance.relay_outbox"
TASK_DELIVER_DUE = "notifications.deliver_due"
TASK_PUBLISH_DUE = "lifecycle.publish_due"
TASK_DUE_DATES = "lifecycle.check_due_dates"
TASK_EXPIRE_ATTACHMENTS = "lifecycle.expire_attachments"
TASK_FORGET_IDEMPOTENCY_KEYS = "maintenance.forget_idempotency_keys"
TASK_DELIVER_EVENTS = "events.deliver"


def make_celery(broker_url: str | None = None) -> Celery:
    broker = broker_url or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    celery = Celery(
        "correspondence",
        broker=broker,
        include=["workers.tasks.notifications", "workers.tasks.lifecycle", "workers.tasks.events"],
    )
    relay_every = float(os.environ.get("OUTBOX_RELAY_INTERVAL_SECONDS", "5"))
    publish_every = float(os.environ.get("PUBLISH_SCAN_INTERVAL_SECONDS", "1"))
    events_every = float(os.environ.get("EVENTS_SCAN_INTERVAL_SECONDS", "1"))
    celery.conf.update(
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue=QUEUE_NOTIFICATIONS,
        task_routes={
            TASK_CREATE_ORDERS: {"queue": QUEUE_NOTIFICATIONS},
            TASK_DELIVER_DUE: {"queue": QUEUE_MAINTENANCE},
            TASK_PUBLISH_DUE: {"queue": QUEUE_MAINTENANCE},
            TASK_DUE_DATES: {"queue": QUEUE_MAINTENANCE},
            TASK_EXPIRE_ATTACHMENTS: {"queue": QUEUE_MAINTENANCE},
            TASK_FORGET_IDEMPOTENCY_KEYS: {"queue": QUEUE_MAINTENANCE},
            TASK_RELAY_OUTBOX: {"queue": QUEUE_MAINTENANCE},
            TASK_DELIVER_EVENTS: {"queue": QUEUE_MAINTENANCE},
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_time_limit=300,
        task_soft_time_limit=240,
        task_ignore_result=True,
        worker_prefetch_multiplier=2,
        broker_connection_retry_on_startup=True,
        # Fail fast when publishing with the broker down: the outbox relay re-sends later.
        broker_connection_timeout=2,
        task_publish_retry=False,
        broker_transport_options={
            "visibility_timeout": int(os.environ.get("BROKER_VISIBILITY_TIMEOUT", "600")),
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
        beat_schedule={
            "relay-outbox": {
                "task": TASK_RELAY_OUTBOX,
                "schedule": relay_every,
                "options": {"queue": QUEUE_MAINTENANCE, "expires": relay_every * 2},
            },
            "publish-due": {
                "task": TASK_PUBLISH_DUE,
                "schedule": publish_every,
                "options": {"queue": QUEUE_MAINTENANCE, "expires": publish_every * 2},
            },
            "check-due-dates": {
                "task": TASK_DUE_DATES,
                "schedule": 30.0,
                "options": {"queue": QUEUE_MAINTENANCE, "expires": 60},
            },
            "expire-attachments": {
                "task": TASK_EXPIRE_ATTACHMENTS,
                "schedule": 60.0,
                "options": {"queue": QUEUE_MAINTENANCE, "expires": 120},
            },
            "forget-idempotency-keys": {
                "task": TASK_FORGET_IDEMPOTENCY_KEYS,
                "schedule": 3600.0,
                "options": {"queue": QUEUE_MAINTENANCE, "expires": 1800},
            },
            "deliver-events": {
                "task": TASK_DELIVER_EVENTS,
                "schedule": events_every,
                "options": {"queue": QUEUE_MAINTENANCE, "expires": events_every * 2},
            },
            "deliver-due-notifications": {
                "task": TASK_DELIVER_DUE,
                "schedule": 10.0,
                "options": {"queue": QUEUE_MAINTENANCE, "expires": 20},
            },
        },
        timezone="UTC",
        enable_utc=True,
    )
    return celery


app = make_celery()
import workers.observability  # noqa: E402,F401  (signal handlers: request id in task logs, JSON logs)
