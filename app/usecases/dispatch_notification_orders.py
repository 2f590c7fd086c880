"""Getting outbox rows to the workers: the relay process (woken by NOTIFY when an Initialize
commits) sends new rows at once; the sweep on beat re-sends rows that stayed behind.

Rows are marked dispatched in a committed transaction *before* the message is published, so a
worker that receives the message at once never finds the row locked by the marking; when the
publish fails the mark is cleared and the relay sends the rows later.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

from app.db.pool import Database, DatabaseUnavailable, Transactions
from app.db.repositories import notifications as notification_repo
from app.logs import request_id_var

log = logging.getLogger(__name__)

Enqueue = Callable[[list[uuid.UUID]], None]


def dispatch_new(db: Transactions, enqueue: Enqueue, limit: int = 1000, chunk: int = 100) -> int:
    """Publish outbox rows no one has dispatched yet (what Initializes just committed), oldest first,
    `chunk` correspondences per message whatever Initialize they came from.

    The rows are marked in a committed transaction before publishing; with the broker down the
    mark is cleared again and the error raised (the caller backs off, the rows stay due)."""
    with db.transaction() as conn:
        taken = notification_repo.take_undispatched(conn, limit)
    return _publish(db, enqueue, taken, chunk)


def dispatch_abandoned(db: Transactions, enqueue: Enqueue, limit: int = 1000, chunk: int = 100) -> int:
    """Publish again the incomplete rows whose lease passed since they were last dispatched: the
    worker that held them died (a live one renews its lease), so a crash costs the lease (20 s), not
    the re-dispatch window."""
    with db.transaction() as conn:
        taken = notification_repo.take_abandoned(conn, limit)
    if taken:
        log.info("outbox relay re-sent %d correspondences whose worker's lease passed", len(taken))
    return _publish(db, enqueue, taken, chunk)


def _publish(
    db: Transactions, enqueue: Enqueue, taken: list[tuple[uuid.UUID, str | None]], chunk: int
) -> int:
    """Publish rows marked dispatched, `chunk` per message; on a broker error clear the marks of
    the rows not sent and raise."""
    sent = 0
    try:
        for start in range(0, len(taken), chunk):
            part = taken[start : start + chunk]
            # The task's logs carry the request id of every Initialize whose work it does.
            token = request_id_var.set(",".join(dict.fromkeys(r for _, r in part if r)) or None)
            try:
                enqueue([i for i, _ in part])
            finally:
                request_id_var.reset(token)
            sent += len(part)
    except Exception:
        _undo(db, [i for i, _ in taken[sent:]])
        raise
    return len(taken)


def relay_outbox(
    db: Database,
    enqueue: Enqueue,
    *,
    undispatched_after: timedelta,
    redispatch_after: timedelta,
    limit: int = 5000,
) -> int:
    """Re-send rows never dispatched, or dispatched long ago and still incomplete."""
    with db.transaction() as conn:
        ids = notification_repo.take_stale_for_dispatch(
            conn, undispatched_after=undispatched_after, redispatch_after=redispatch_after, limit=limit
        )
    if not ids:
        return 0
    try:
        enqueue(ids)
    except Exception:
        _undo(db, ids)
        raise
    log.info("outbox relay re-sent %d correspondences", len(ids))
    return len(ids)


def _undo(db: Transactions, ids: list[uuid.UUID]) -> None:
    try:
        with db.transaction() as conn:
            notification_repo.undo_dispatch(conn, ids)
    except DatabaseUnavailable as exc:  # the relay's re-dispatch window still covers these rows
        log.warning("could not clear the dispatch mark of %d outbox rows: %s", len(ids), exc)
