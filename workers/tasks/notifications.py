"""Thin tasks: create notification orders; relay the outbox. They call use cases."""

from __future__ import annotations

import logging
import time
import uuid

from celery import shared_task

from app.db.pool import DatabaseUnavailable
from app.usecases.check_deliveries import check_deliveries
from app.usecases.create_notification_orders import create_notification_orders
from app.usecases.deliver_notifications import deliver_due_orders
from app.usecases.dispatch_notification_orders import relay_outbox
from app.usecases.send_emails import send_due_emails
from workers.celery_app import (
    TASK_CHECK_DELIVERIES,
    TASK_CREATE_ORDERS,
    TASK_DELIVER_DUE,
    TASK_RELAY_OUTBOX,
    TASK_SEND_EMAILS,
)
from workers.dispatch import order_creation_enqueuer

log = logging.getLogger(__name__)


@shared_task(
    name=TASK_CREATE_ORDERS,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=300,
    soft_time_limit=240,
)
def create_orders(self, correspondence_ids: list[str], attempt: int = 0) -> dict[str, int]:
    """One retry path: what cannot be done now stays in the outbox (with a backoff when the gateway
    was unavailable, or dispatched until the relay's re-dispatch window when the database was
    down) and the relay sends it again. No countdown messages: quorum queues cannot hold them."""
    services = self.app.services
    try:
        result = create_notification_orders(
            services.db,
            services.gateway,
            [uuid.UUID(i) for i in correspondence_ids],
            attempt=attempt,
            policy=services.order_policy,
        )
    except DatabaseUnavailable as exc:
        log.warning(
            "database unavailable; %d correspondences stay in the outbox: %s", len(correspondence_ids), exc
        )
        return {"recorded": 0, "completed": 0, "retry": len(correspondence_ids), "released": 0}
    return {
        "recorded": result.recorded,
        "completed": len(result.completed),
        "retry": len(result.retry),
        "released": len(result.released),
    }


@shared_task(
    name=TASK_RELAY_OUTBOX, bind=True, acks_late=True, time_limit=60, soft_time_limit=50, ignore_result=True
)
def relay(self, limit: int = 5000) -> int:
    services = self.app.services
    return relay_outbox(
        services.db,
        order_creation_enqueuer(self.app),
        undispatched_after=services.settings.undispatched_after,
        redispatch_after=services.settings.redispatch_after,
        limit=limit,
        queued=_queued_orders(self.app),
    )


def _queued_orders(app) -> int:
    """Messages waiting in the notifications queue (0 when the broker cannot say): while some wait,
    a row dispatched long ago may be in one of them, not lost."""
    from workers.broker import Broker

    queue = app.queues.notifications
    try:
        return Broker(app.conf.broker_url).queue_depths([queue]).get(queue, 0)
    except Exception as exc:  # noqa: BLE001 - whatever the broker client raises: the sweep goes on as before
        log.warning("could not read the depth of %s: %s", queue, exc)
        return 0


@shared_task(
    name=TASK_DELIVER_DUE, bind=True, acks_late=True, time_limit=60, soft_time_limit=50, ignore_result=True
)
def deliver_due(self, limit: int = 1000) -> dict[str, int]:
    result = deliver_due_orders(self.app.services.db, limit=limit)
    return {"sent": result.sent, "conditionNotMet": result.condition_not_met, "waiting": result.waiting}


@shared_task(
    name=TASK_SEND_EMAILS, bind=True, acks_late=True, time_limit=60, soft_time_limit=50, ignore_result=True
)
def send_emails(self, budget_seconds: float = 20.0) -> dict[str, int]:
    """The smtp gateway's e-mails: batch after batch while full batches come back, for at most
    `budget_seconds` (beat sends the next task; several workers share the work by their leases)."""
    services = self.app.services
    channel = services.email_channel
    totals = {"succeeded": 0, "failed": 0, "retry": 0}
    if channel is None:
        return totals
    policy = services.email_policy
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        try:
            result = send_due_emails(services.db, channel, policy=policy)
        except DatabaseUnavailable as exc:
            log.warning("database unavailable; e-mails wait: %s", exc)
            break
        totals["succeeded"] += result.succeeded + result.handed_over
        totals["failed"] += result.failed
        totals["retry"] += result.retry
        if result.claimed < policy.batch or result.unreachable:
            break
    return totals


@shared_task(
    name=TASK_CHECK_DELIVERIES,
    bind=True,
    acks_late=True,
    time_limit=120,
    soft_time_limit=100,
    ignore_result=True,
)
def check_order_deliveries(self) -> dict[str, int]:
    """The altinn gateway's orders: read Notifications' shipment status of the due ones."""
    services = self.app.services
    if not hasattr(services.gateway, "shipment_status"):
        return {}
    try:
        result = check_deliveries(services.db, services.gateway, policy=services.check_policy)
    except DatabaseUnavailable as exc:
        log.warning("database unavailable; delivery checks wait: %s", exc)
        return {}
    return {"final": result.final, "waiting": result.waiting, "gaveUp": result.gave_up}
