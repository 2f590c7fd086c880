"""`Prefer: wait=N` on Initialize: wait until the workers recorded every order, or N seconds pass."""

from __future__ import annotations

import time
import uuid
from typing import Any

from app.db.pool import Database
from app.db.repositories import notifications as notification_repo

MAX_WAIT_SECONDS = 30.0


def wait_for_orders(
    db: Database,
    awaiting: list[uuid.UUID],
    all_ids: list[uuid.UUID],
    seconds: float,
    poll_interval: float = 0.05,
) -> dict[uuid.UUID, list[dict[str, Any]] | None]:
    """Per correspondence: its recorded orders, [] when it has none to create, None when still pending."""
    deadline = time.monotonic() + min(seconds, MAX_WAIT_SECONDS)
    pending = set(awaiting)
    while pending:
        with db.transaction() as conn:
            pending = notification_repo.incomplete_among(conn, list(pending))
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(poll_interval)
    with db.transaction() as conn:
        orders = notification_repo.orders_for(conn, all_ids)
    return {cid: (None if cid in pending else orders.get(cid, [])) for cid in all_ids}
