"""Sending due notifications of the local gateway, and the condition checks Altinn Notifications calls.

A reminder goes out only if the correspondence is still unread at its send time; nothing goes out
for a correspondence that is purged or Failed; orders wait while the correspondence is unpublished.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.db.pool import Database
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import notifications as notification_repo
from app.domain.correspondence import NEVER, SEND, notification_condition


@dataclass(frozen=True)
class DeliveryResult:
    sent: int
    condition_not_met: int
    waiting: int


def deliver_due_orders(db: Database, limit: int = 1000) -> DeliveryResult:
    with db.transaction() as conn:
        due = notification_repo.take_due_local_orders(conn, limit)
        statuses = correspondence_repo.status_sets(conn, list({o["correspondence_id"] for o in due}))
        sent, not_met, waiting = [], [], 0
        for order in due:
            verdict = notification_condition(
                statuses.get(order["correspondence_id"]), is_reminder=order["is_reminder"]
            )
            if verdict == SEND:
                sent.append(order["id"])
            elif verdict == NEVER:
                not_met.append(order["id"])
            else:
                waiting += 1
        notification_repo.record_deliveries(conn, sent, not_met)
    return DeliveryResult(len(sent), len(not_met), waiting)


def should_send(db: Database, correspondence_id: uuid.UUID, *, is_reminder: bool) -> bool:
    """The answer of the condition endpoints (`{"sendNotification": bool}`)."""
    with db.transaction() as conn:
        statuses = correspondence_repo.status_sets(conn, [correspondence_id]).get(correspondence_id)
    return notification_condition(statuses, is_reminder=is_reminder) == SEND
