"""The SQL behind /metrics: notification orders by status and the outbox backlog."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow

# A scrape must never hold the database for long: the statement is cut off, the gauge goes missing.
STATEMENT_TIMEOUT = "2s"


def _limit(conn: psycopg.Connection[DictRow]) -> None:
    conn.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")


def orders_by_status(conn: psycopg.Connection[DictRow]) -> dict[str, int]:
    """Recorded notification orders per status (Success, MissingContact, Failure)."""
    _limit(conn)
    rows = conn.execute("SELECT status, count(*) AS n FROM notification_orders GROUP BY status").fetchall()
    return {r["status"]: int(r["n"]) for r in rows}


def outbox_backlog(conn: psycopg.Connection[DictRow]) -> dict[str, Any]:
    """Outbox rows not completed yet (every row: a completed one is deleted): not yet dispatched
    (past the relay's cursor, or due again), dispatched (on the broker or in a worker), and the
    creation time of the oldest (None when the backlog is empty)."""
    _limit(conn)
    row = conn.execute(
        """SELECT count(*) FILTER (WHERE o.xid_past OR o.retry_at IS NOT NULL) AS undispatched,
                  count(*) FILTER (WHERE NOT o.xid_past AND o.retry_at IS NULL) AS dispatched,
                  min(o.created) AS oldest
           FROM (SELECT (n.xid, n.correspondence_id) > (w.position_xid, w.position_uuid) AS xid_past,
                        n.retry_at, n.created
                 FROM notification_outbox n, work_cursors w WHERE w.name = 'notification_outbox') o"""
    ).fetchone()
    assert row is not None  # an aggregate without GROUP BY: always one row
    oldest: datetime | None = row["oldest"]
    return {"undispatched": int(row["undispatched"]), "dispatched": int(row["dispatched"]), "oldest": oldest}


def deliveries(conn: psycopg.Connection[DictRow]) -> list[dict[str, Any]]:
    """Notification addresses by channel, status and reason code (a bounded label, not the reply)."""
    _limit(conn)
    return conn.execute(
        """SELECT channel, status, coalesce(reason_code, '') AS reason, count(*) AS n
           FROM notification_deliveries GROUP BY channel, status, reason_code ORDER BY 1, 2, 3"""
    ).fetchall()
