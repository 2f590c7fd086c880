"""The Celery application factory: `create_celery(settings)` builds a configured app from the one
settings object (app/config.py), as Flask's Celery pattern and GOV.UK Notify's `init_app` do.

The broker is `settings.broker.url` (BROKER_URL, else REDIS_URL). On RabbitMQ every queue is a
quorum queue (replicated, durable) with a delivery limit: a message delivered `delivery_limit` times
without being acknowledged (a task that kills its worker every time) is moved to `<prefix>.dead`
instead of looping for ever. Publishes wait for the broker's confirm.

Tasks are shared tasks (workers/tasks/): any app the factory builds runs them, with the services
(database pool, notification gateway) of that app (`app.services`). `celery -A workers.main` is
the app of the process roles; tests and benchmarks build their own.

Every queue has a consumer role in the Procfile (tests check it). Queue names carry a prefix
(CORRESPONDENCE_QUEUE_PREFIX) so that separate deployments or test runs can share one broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from celery import Celery, signals
from kombu import Queue

from app.config import BrokerSettings, Settings

if TYPE_CHECKING:
    from workers.services import WorkerServices

AMQP_SCHEMES = frozenset({"amqp", "amqps", "pyamqp"})

TASK_CREATE_ORDERS = "notifications.create_orders"
TASK_RELAY_OUTBOX = "maintenance.relay_outbox"
TASK_DELIVER_DUE = "notifications.deliver_due"
TASK_PUBLISH_DUE = "lifecycle.publish_due"
TASK_DUE_DATES = "lifecycle.check_due_dates"
TASK_EXPIRE_ATTACHMENTS = "lifecycle.expire_attachments"
TASK_FORGET_IDEMPOTENCY_KEYS = "maintenance.forget_idempotency_keys"
TASK_DELIVER_EVENTS = "events.deliver"
TASK_SEND_EMAILS = "notifications.send_emails"
TASK_CHECK_DELIVERIES = "notifications.check_deliveries"

# Beat's periodic scans (every entry of the schedule; their routine log lines are DEBUG).
SCAN_TASKS = frozenset(
    {
        TASK_RELAY_OUTBOX,
        TASK_PUBLISH_DUE,
        TASK_DUE_DATES,
        TASK_EXPIRE_ATTACHMENTS,
        TASK_FORGET_IDEMPOTENCY_KEYS,
        TASK_DELIVER_EVENTS,
        TASK_DELIVER_DUE,
        TASK_SEND_EMAILS,
        TASK_CHECK_DELIVERIES,
    }
)

TASK_MODULES = ["workers.tasks.notifications", "workers.tasks.lifecycle", "workers.tasks.events"]


@dataclass(frozen=True)
class Queues:
    """The queue names of one deployment (one prefix)."""

    prefix: str = "correspondence"

    @property
    def notifications(self) -> str:
        return f"{self.prefix}.notifications"

    @property
    def maintenance(self) -> str:
        return f"{self.prefix}.maintenance"

    @property
    def dead(self) -> str:
        """RabbitMQ only: where a message goes once its deliveries run out (no worker consumes it)."""
        return f"{self.prefix}.dead"

    @property
    def events(self) -> str:
        """Deliveries to subscribers, consumed by a worker role of its own: publication, due dates,
        the outbox sweep and order creation never wait behind a slow subscriber."""
        return f"{self.prefix}.events"

    @property
    def general(self) -> tuple[str, str]:
        """What the `worker` role consumes: everything but the events."""
        return (self.notifications, self.maintenance)

    @property
    def consumed(self) -> tuple[str, str, str]:
        """Every queue (each has a consumer role: `worker` the general ones, `events` the events)."""
        return (self.notifications, self.maintenance, self.events)

    def of_task(self, name: str) -> str:
        if name == TASK_CREATE_ORDERS:
            return self.notifications
        return self.events if name == TASK_DELIVER_EVENTS else self.maintenance


def is_amqp(url: str) -> bool:
    return url.split("://", 1)[0].lower() in AMQP_SCHEMES


def quorum_queue(name: str, queues: Queues, delivery_limit: int) -> Queue:
    return Queue(
        name,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": "",  # the default exchange: routed by queue name
            "x-dead-letter-routing-key": queues.dead,
        },
    )


def dead_letter_queue(queues: Queues) -> Queue:
    return Queue(queues.dead, queue_arguments={"x-queue-type": "quorum"})


def broker_options(broker: BrokerSettings, queues: Queues) -> dict[str, object]:
    """The Celery settings of that kind of broker: queues, prefetch, transport options."""
    if is_amqp(broker.url):
        return {
            "task_queues": [quorum_queue(name, queues, broker.delivery_limit) for name in queues.consumed],
            # One unacknowledged message per worker process: with acks_late, a message a worker
            # holds is one it is working on, and the others stay in the queue for other hosts.
            "worker_prefetch_multiplier": 1,
            "broker_transport_options": {"confirm_publish": True},
        }
    return {
        "task_queues": [Queue(name) for name in queues.consumed],
        "worker_prefetch_multiplier": 2,
        "broker_transport_options": {
            "visibility_timeout": broker.visibility_timeout,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
    }


def _scan(task: str, every: float, queue: str, expires: float | None = None) -> dict[str, object]:
    return {"task": task, "schedule": every, "options": {"queue": queue, "expires": expires or every * 2}}


class CorrespondenceCelery(Celery):
    """A Celery app that knows the settings it was built from and the services its tasks use."""

    settings: Settings
    queues: Queues
    installed_services: WorkerServices | None = None

    @property
    def services(self) -> WorkerServices:
        """The database pool and gateway of this app's tasks: the ones installed (tests), else built
        from the settings on first use (once per worker process)."""
        if self.installed_services is None:
            from workers.services import build_services

            self.installed_services = build_services(self.settings)
        return self.installed_services


def create_celery(settings: Settings, services: WorkerServices | None = None) -> CorrespondenceCelery:
    """A configured Celery app for `settings`; `services` replaces the ones built from them (tests)."""
    broker = settings.broker
    queues = Queues(broker.queue_prefix)
    celery = CorrespondenceCelery("correspondence", broker=broker.url, include=TASK_MODULES)
    celery.settings = settings
    celery.queues = queues
    celery.installed_services = services
    maintenance = queues.maintenance
    celery.conf.update(
        broker_options(broker, queues),
        task_default_queue=queues.notifications,
        task_routes={name: {"queue": queues.of_task(name)} for name in (TASK_CREATE_ORDERS, *SCAN_TASKS)},
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
            "relay-outbox": _scan(TASK_RELAY_OUTBOX, broker.relay_interval_seconds, maintenance),
            "publish-due": _scan(TASK_PUBLISH_DUE, broker.publish_interval_seconds, maintenance),
            "check-due-dates": _scan(TASK_DUE_DATES, 30.0, maintenance, expires=60),
            "expire-attachments": _scan(TASK_EXPIRE_ATTACHMENTS, 60.0, maintenance),
            "forget-idempotency-keys": _scan(TASK_FORGET_IDEMPOTENCY_KEYS, 3600.0, maintenance, expires=1800),
            "deliver-events": _scan(TASK_DELIVER_EVENTS, broker.events_interval_seconds, queues.events),
            "deliver-due-notifications": _scan(TASK_DELIVER_DUE, 10.0, maintenance),
            # Sends the smtp gateway's e-mails; returns at once with another gateway.
            "send-emails": _scan(TASK_SEND_EMAILS, settings.worker.email_interval_seconds, maintenance),
            # Follows the altinn gateway's orders to their delivery; returns at once with another gateway.
            "check-deliveries": _scan(TASK_CHECK_DELIVERIES, 10.0, maintenance),
        },
        timezone="UTC",
        enable_utc=True,
    )
    return celery


@signals.worker_ready.connect
def _declare_dead_letter_queue(sender: object = None, **_: object) -> None:
    """Messages dead-lettered to a queue that does not exist are dropped: declare it before any
    message can run out of deliveries (only workers deliver)."""
    celery = getattr(sender, "app", None)
    if isinstance(celery, CorrespondenceCelery) and is_amqp(celery.conf.broker_url):
        with celery.connection_for_write() as connection:
            dead_letter_queue(celery.queues)(connection.default_channel).declare()


import workers.observability  # noqa: E402,F401  (signal handlers: request id in task logs, JSON logs)
