"""The Celery application: its broker, queue names as constants, reliability defaults.

The broker is BROKER_URL when set (`amqp://…`: RabbitMQ), else REDIS_URL. On RabbitMQ every queue
is a quorum queue (replicated, durable) with a delivery limit: a message delivered
BROKER_DELIVERY_LIMIT times without being acknowledged (a task that kills its worker every time)
is moved to `<prefix>.dead` instead of looping for ever. Publishes wait for the broker's confirm.

Every queue has a consumer role in the Procfile (tests check it). Queue names carry a prefix
(CORRESPONDENCE_QUEUE_PREFIX) so that separate deployments or test runs can share one broker.
"""

from __future__ import annotations

import os

from celery import Celery, signals
from kombu import Queue

PREFIX = os.environ.get("CORRESPONDENCE_QUEUE_PREFIX", "correspondence")
QUEUE_NOTIFICATIONS = f"{PREFIX}.notifications"
QUEUE_MAINTENANCE = f"{PREFIX}.maintenance"
QUEUES = (QUEUE_NOTIFICATIONS, QUEUE_MAINTENANCE)
# RabbitMQ only: where a message goes once its deliveries run out (no worker consumes it).
QUEUE_DEAD = f"{PREFIX}.dead"
AMQP_SCHEMES = frozenset({"amqp", "amqps", "pyamqp"})

TASK_CREATE_ORDERS = "notifications.create_orders"
TASK_RELAY_OUTBOX = "maintenance.relay_outbox"
TASK_DELIVER_DUE = "notifications.deliver_due"
TASK_PUBLISH_DUE = "lifecycle.publish_due"
TASK_DUE_DATES = "lifecycle.check_due_dates"
TASK_EXPIRE_ATTACHMENTS = "lifecycle.expire_attachments"
TASK_FORGET_IDEMPOTENCY_KEYS = "maintenance.forget_idempotency_keys"
TASK_DELIVER_EVENTS = "events.deliver"


def broker_url_from_env() -> str:
    return os.environ.get("BROKER_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def is_amqp(url: str) -> bool:
    return url.split("://", 1)[0].lower() in AMQP_SCHEMES


def delivery_limit() -> int:
    return int(os.environ.get("BROKER_DELIVERY_LIMIT", "5"))


def quorum_queue(name: str) -> Queue:
    return Queue(
        name,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit(),
            "x-dead-letter-exchange": "",  # the default exchange: routed by queue name
            "x-dead-letter-routing-key": QUEUE_DEAD,
        },
    )


def dead_letter_queue() -> Queue:
    return Queue(QUEUE_DEAD, queue_arguments={"x-queue-type": "quorum"})


def configure_broker(celery: Celery, url: str) -> None:
    """Point `celery` at `url` with the queues and options of that kind of broker."""
    celery.conf.broker_url = url
    if is_amqp(url):
        celery.conf.update(
            task_queues=[quorum_queue(name) for name in QUEUES],
            # One unacknowledged message per worker process: with acks_late, a message a worker
            # holds is one it is working on, and the others stay in the queue for other hosts.
            worker_prefetch_multiplier=1,
            broker_transport_options={"confirm_publish": True},
        )
    else:
        celery.conf.update(
            task_queues=[Queue(name) for name in QUEUES],
            worker_prefetch_multiplier=2,
            broker_transport_options={
                "visibility_timeout": int(os.environ.get("BROKER_VISIBILITY_TIMEOUT", "600")),
                "socket_connect_timeout": 2,
                "socket_timeout": 5,
            },
        )


def repoint(celery: Celery, url: str) -> None:
    """Move a running app (tests, benchmarks) to another broker: configure it, then drop the
    connections and the queue declarations it pooled and cached for the previous one."""
    import kombu.pools

    configure_broker(celery, url)
    kombu.pools.reset()  # kombu keeps connection/producer pools per URL, process-wide
    celery._pool = None  # the app's own connection pool
    celery.amqp._producer_pool = None
    for cached in ("queues", "router", "default_queue", "send_task_message"):
        celery.amqp.__dict__.pop(cached, None)
    celery.amqp._rtable = None


def make_celery(broker_url: str | None = None) -> Celery:
    broker = broker_url or broker_url_from_env()
    celery = Celery(
        "correspondence",
        broker=broker,
        include=["workers.tasks.notifications", "workers.tasks.lifecycle", "workers.tasks.events"],
    )
    relay_every = float(os.environ.get("OUTBOX_RELAY_INTERVAL_SECONDS", "5"))
    publish_every = float(os.environ.get("PUBLISH_SCAN_INTERVAL_SECONDS", "1"))
    events_every = float(os.environ.get("EVENTS_SCAN_INTERVAL_SECONDS", "1"))
    configure_broker(celery, broker)
    celery.conf.update(
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
        broker_connection_retry_on_startup=True,
        # Fail fast when publishing with the broker down: the outbox relay re-sends later.
        broker_connection_timeout=2,
        task_publish_retry=False,
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


@signals.worker_ready.connect
def _declare_dead_letter_queue(sender: object = None, **_: object) -> None:
    """Messages dead-lettered to a queue that does not exist are dropped: declare it before any
    message can run out of deliveries (only workers deliver)."""
    if is_amqp(app.conf.broker_url):
        with app.connection_for_write() as connection:
            dead_letter_queue()(connection.default_channel).declare()


import workers.observability  # noqa: E402,F401  (signal handlers: request id in task logs, JSON logs)
