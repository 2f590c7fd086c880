"""Getting outbox rows to the workers: right after Initialize commits, and by the relay on beat.

Rows are marked dispatched in a committed transaction *before* the message is published, so a
worker that receives the message at once never finds the row locked by the marking; when the
publish fails the mark is cleared and the relay sends the rows later.
"""
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
    """Publish the rows Initialize just committed (already marked dispatched). Never raises:
    with the broker down the rows stay in the outbox for the relay."""
    if not ids:
        return True
    try:
        enqueue(ids)
        return True
    except Exception as exc:  # broker down: the outbox keeps the work
        log.warning("broker unavailable, %d correspondences left to the outbox relay: %s", len(ids), exc)
        _undo(db, ids)
        return False


def relay_outbox(db: Database, enqueue: Enqueue, *, undispatched_after: timedelta, redispatch_after: timedelta,
                 limit: int = 5000) -> int:
    """Re-send rows never dispatched, or dispatched long ago and still incomplete."""
    with db.transaction() as conn:
        ids = notification_repo.take_stale_for_dispatch(
            conn, undispatched_after=undispatched_after, redispatch_after=redispatch_after, limit=limit)
    if not ids:
        return 0
    try:
        enqueue(ids)
    except Exception:
        _undo(db, ids)
        raise
    log.info("outbox relay re-sent %d correspondences", len(ids))
    return len(ids)


def _undo(db: Database, ids: list[uuid.UUID]) -> None:
    try:
        with db.transaction() as conn:
            notification_repo.undo_dispatch(conn, ids)
    except DatabaseUnavailable as exc:  # the relay's re-dispatch window still covers these rows
        log.warning("could not clear the dispatch mark of %d outbox rows: %s", len(ids), exc)
