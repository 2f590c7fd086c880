"""Getting outbox rows to the workers: right after Initialize commits, and by the relay on beat."""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Callable

from app.db.pool import Database, DatabaseUnavailable
from app.db.repositories import notifications as notification_repo

log = logging.getLogger(__name__)

Enqueue = Callable[[list[uuid.UUID]], None]


def dispatch_after_commit(db: Database, enqueue: Enqueue, ids: list[uuid.UUID]) -> bool:
    """Send the new rows to the broker. A broker (or database) failure is logged, never raised:
    the rows are committed, and the relay sends them once the broker is back."""
    if not ids:
        return True
    try:
        enqueue(ids)
    except Exception as exc:  # broker down: the outbox keeps the work
        log.warning("broker unavailable, %d correspondences left to the outbox relay: %s", len(ids), exc)
        return False
    try:
        with db.transaction() as conn:
            notification_repo.mark_dispatched(conn, ids)
    except DatabaseUnavailable as exc:
        log.warning("could not mark %d outbox rows dispatched: %s", len(ids), exc)
    return True


def relay_outbox(db: Database, enqueue: Enqueue, *, undispatched_after: timedelta, redispatch_after: timedelta,
                 limit: int = 5000) -> int:
    """Re-send rows never dispatched, or dispatched long ago and still incomplete."""
    with db.transaction() as conn:
        ids = notification_repo.stale_pending(conn, undispatched_after=undispatched_after,
                                              redispatch_after=redispatch_after, limit=limit)
        if ids:
            enqueue(ids)  # a failure rolls back: nothing is marked, the next run tries again
            notification_repo.mark_dispatched(conn, ids)
    if ids:
        log.info("outbox relay re-sent %d correspondences", len(ids))
    return len(ids)
