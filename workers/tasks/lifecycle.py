"""Thin tasks for the lifecycle scans (publish, due dates), sent by beat."""

from __future__ import annotations

from celery import shared_task

from app.storage import storage_from_settings
from app.usecases.publish_correspondences import check_due_dates, expire_attachments, publish_due
from app.usecases.replayable_requests import forget_expired
from workers.celery_app import (
    TASK_DUE_DATES,
    TASK_EXPIRE_ATTACHMENTS,
    TASK_FORGET_IDEMPOTENCY_KEYS,
    TASK_PUBLISH_DUE,
)


@shared_task(
    bind=True, name=TASK_PUBLISH_DUE, acks_late=True, time_limit=60, soft_time_limit=50, ignore_result=True
)
def publish(self, limit: int = 20) -> dict[str, int]:
    total = {"published": 0, "failed": 0, "waiting": 0}
    while True:  # drain what is due now, one bounded transaction at a time
        result = publish_due(self.app.services.db, limit=limit)
        total["published"] += result.published
        total["failed"] += result.failed
        total["waiting"] += result.waiting
        if result.jobs < limit:
            return total


@shared_task(
    bind=True, name=TASK_DUE_DATES, acks_late=True, time_limit=60, soft_time_limit=50, ignore_result=True
)
def due_dates(self, limit: int = 20) -> int:
    events = 0
    while True:  # drain what is due now, one bounded transaction at a time
        result = check_due_dates(self.app.services.db, limit=limit)
        events += result.events
        if result.jobs < limit:
            return events


@shared_task(
    bind=True,
    name=TASK_EXPIRE_ATTACHMENTS,
    acks_late=True,
    time_limit=120,
    soft_time_limit=100,
    ignore_result=True,
)
def expire(self, limit: int = 500) -> int:
    return expire_attachments(self.app.services.db, storage_from_settings(self.app.settings), limit=limit)


@shared_task(
    bind=True,
    name=TASK_FORGET_IDEMPOTENCY_KEYS,
    acks_late=True,
    time_limit=120,
    soft_time_limit=100,
    ignore_result=True,
)
def forget_idempotency_keys(self) -> int:
    """Idempotency-Key (header) rows past their retention (IDEMPOTENCY_KEY_TTL_HOURS)."""
    return forget_expired(self.app.services.db, self.app.settings.idempotency_retention)
