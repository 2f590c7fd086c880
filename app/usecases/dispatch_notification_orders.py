"""Getting outbox rows to the workers: the relay process (looking every RELAY_BATCH_WINDOW_MS) sends
new rows; the sweep on beat re-sends rows that stayed behind.

New rows are read past the relay's cursor in commit order and published inside the transaction that
moves the cursor (no row is written: migration 0019); when a publish fails the cursor stays and the
rows go with the next attempt (a message published before the failure may go twice: the worker's
claim takes a row once). Rows sent again (a retry, a dead worker's, a lost message) are marked
dispatched in a committed transaction *before* the message is published, and the mark is cleared
when the publish fails.
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


def dispatch_new(
    db: Transactions,
    enqueue: Enqueue,
    limit: int = 1000,
    chunk: int = 100,
    older_than: timedelta | None = None,
) -> int:
    """Publish the rows past the relay's cursor (what Initializes just committed), oldest first,
    `chunk` correspondences per message whatever Initialize they came from, and move the cursor past
    them in the same transaction. With the broker down the error is raised and the cursor stays (the
    caller backs off, the rows stay due). With `older_than` (the sweep), only when the oldest of them
    waited that long (no relay is running)."""
    with db.transaction() as conn:
        taken, end = notification_repo.take_new(conn, limit, older_than)
        if end is None:
            return 0
        for start in range(0, len(taken), chunk):
            _enqueue(enqueue, taken[start : start + chunk])
        notification_repo.advance(conn, end)
    return len(taken)


def dispatch_abandoned(db: Transactions, enqueue: Enqueue, limit: int = 1000, chunk: int = 100) -> int:
    """Publish again the rows due again: retries whose time came, and rows whose lease passed since
    they were last dispatched (the worker that held them died: a live one renews its lease), so a
    crash costs the lease (20 s), not the re-dispatch window."""
    with db.transaction() as conn:
        taken = notification_repo.take_due_again(conn, limit)
    if taken:
        log.info("outbox relay re-sent %d correspondences due again", len(taken))
    return _publish(db, enqueue, taken, chunk)


def _enqueue(enqueue: Enqueue, part: list[tuple[uuid.UUID, str | None]]) -> None:
    # The task's logs carry the request id of every Initialize whose work it does.
    token = request_id_var.set(",".join(dict.fromkeys(r for _, r in part if r)) or None)
    try:
        enqueue([i for i, _ in part])
    finally:
        request_id_var.reset(token)


def _publish(
    db: Transactions, enqueue: Enqueue, taken: list[tuple[uuid.UUID, str | None]], chunk: int
) -> int:
    """Publish rows marked dispatched, `chunk` per message; on a broker error clear the marks of
    the rows not sent and raise."""
    sent = 0
    try:
        for start in range(0, len(taken), chunk):
            part = taken[start : start + chunk]
            _enqueue(enqueue, part)
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
    queued: int = 0,
) -> int:
    """Send rows no relay sent within `undispatched_after`, and re-send rows due again or dispatched
    long ago and still incomplete under no live lease. While `queued` messages wait in the
    notifications queue a row dispatched long ago may be in one of them: it is not taken for lost
    then (under a backlog of minutes every row would be sent twice), only once the queue is empty."""
    sent = dispatch_new(db, enqueue, limit, older_than=undispatched_after)
    with db.transaction() as conn:
        ids = notification_repo.take_stale_for_dispatch(
            conn, redispatch_after=redispatch_after, limit=limit, lost=queued == 0
        )
    if not ids:
        return sent
    try:
        enqueue(ids)
    except Exception:
        _undo(db, ids)
        raise
    log.info("outbox relay re-sent %d correspondences", len(ids))
    return sent + len(ids)


def _undo(db: Transactions, ids: list[uuid.UUID]) -> None:
    try:
        with db.transaction() as conn:
            notification_repo.undo_dispatch(conn, ids)
    except DatabaseUnavailable as exc:  # the relay's re-dispatch window still covers these rows
        log.warning("could not clear the dispatch mark of %d outbox rows: %s", len(ids), exc)
