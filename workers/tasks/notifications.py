"""Thin tasks: create notification orders; relay the outbox. They call use cases."""

from __future__ import annotations

import logging
import random
import uuid

from app.db.pool import DatabaseUnavailable
from app.usecases.create_notification_orders import create_notification_orders
from app.usecases.deliver_notifications import deliver_due_orders
from app.usecases.dispatch_notification_orders import relay_outbox
from workers.celery_app import (
    QUEUE_NOTIFICATIONS,
    TASK_CREATE_ORDERS,
    TASK_DELIVER_DUE,
    TASK_RELAY_OUTBOX,
    app,
)
from workers.dispatch import enqueue_order_creation
from workers.services import get_services

log = logging.getLogger(__name__)


@app.task(
    name=TASK_CREATE_ORDERS,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseUnavailable,),
    retry_backoff=True,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=10,
    time_limit=300,
    soft_time_limit=240,
)
def create_orders(self, correspondence_ids: list[str], attempt: int = 0) -> dict[str, int]:
    services = get_services()
    result = create_notification_orders(
        services.db,
        services.gateway,
        [uuid.UUID(i) for i in correspondence_ids],
        attempt=attempt,
        policy=services.order_policy,
    )
    if result.retry:
        countdown = backoff_seconds(
            attempt, services.settings.retry_base_seconds, services.settings.retry_max_seconds
        )
        app.send_task(
            TASK_CREATE_ORDERS,
            args=([str(i) for i in result.retry], attempt + 1),
            queue=QUEUE_NOTIFICATIONS,
            countdown=countdown,
        )
    return {"recorded": result.recorded, "completed": len(result.completed), "retry": len(result.retry)}


def backoff_seconds(attempt: int, base: float, maximum: float) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped."""
    ceiling = min(maximum, base * (2**attempt))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


@app.task(name=TASK_RELAY_OUTBOX, acks_late=True, time_limit=60, soft_time_limit=50, ignore_result=True)
def relay(limit: int = 5000) -> int:
    services = get_services()
    return relay_outbox(
        services.db,
        enqueue_order_creation,
        undispatched_after=services.settings.undispatched_after,
        redispatch_after=services.settings.redispatch_after,
        limit=limit,
    )


@app.task(name=TASK_DELIVER_DUE, acks_late=True, time_limit=60, soft_time_limit=50, ignore_result=True)
def deliver_due(limit: int = 1000) -> dict[str, int]:
    result = deliver_due_orders(get_services().db, limit=limit)
    return {"sent": result.sent, "conditionNotMet": result.condition_not_met, "waiting": result.waiting}
