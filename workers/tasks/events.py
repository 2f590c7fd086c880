"""Events to subscribers: beat's scan fans the outbox out into deliveries and posts what is due
(app/usecases/deliver_events.py). Several may run at once: rows are claimed with SKIP LOCKED and leased."""

from __future__ import annotations

from app.events_settings import load_event_settings
from app.usecases.deliver_events import deliver_all
from workers.celery_app import QUEUE_MAINTENANCE, TASK_DELIVER_EVENTS, app
from workers.gateways.webhooks import post_event
from workers.services import get_services


@app.task(name=TASK_DELIVER_EVENTS, acks_late=True, time_limit=90, soft_time_limit=75, ignore_result=True)
def deliver_events(budget_seconds: float = 10.0) -> dict[str, int]:
    result = deliver_all(get_services().db, post_event, load_event_settings(), budget_seconds=budget_seconds)
    return {"delivered": result.delivered, "retried": result.retried, "failed": result.failed}


def kick() -> None:
    """Ask for a scan now (after a subscription is created); raises if the broker is down."""
    app.send_task(TASK_DELIVER_EVENTS, queue=QUEUE_MAINTENANCE, retry=False, expires=60)
