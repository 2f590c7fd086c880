"""Events to subscribers: beat's scan fans the outbox out into deliveries and posts what is due
(app/usecases/deliver_events.py). Several may run at once: rows are claimed with SKIP LOCKED and leased."""

from __future__ import annotations

from celery import Celery, shared_task

from app.events_settings import load_event_settings
from app.usecases.deliver_events import deliver_all
from workers.celery_app import TASK_DELIVER_EVENTS
from workers.gateways.webhooks import post_event


@shared_task(
    name=TASK_DELIVER_EVENTS, bind=True, acks_late=True, time_limit=90, soft_time_limit=75, ignore_result=True
)
def deliver_events(self, budget_seconds: float = 10.0) -> dict[str, int]:
    result = deliver_all(
        self.app.services.db, post_event, load_event_settings(), budget_seconds=budget_seconds
    )
    return {"delivered": result.delivered, "retried": result.retried, "failed": result.failed}


def kick(celery: Celery) -> None:
    """Ask for a scan now (after a subscription is created); raises if the broker is down."""
    celery.send_task(TASK_DELIVER_EVENTS, retry=False, expires=60)
