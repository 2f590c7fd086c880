"""Notification outbox and orders: the SQL behind order creation, relay and Prefer: wait."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from app.db.repositories.correspondences import CORRESPONDENCE, TITLE_COLUMN
from app.domain.notification_orders import NotificationOrder, OrderOutcome

# The relay's cursor over the outbox, and the sweep's low-water mark (migration 0019, `work_cursors`).
RELAY_CURSOR = "notification_outbox"
OLDEST = "notification_outbox_oldest"
# Rows written by transactions that ended before every running one began: all committed (or rolled
# back), none can still appear below them. A reader in (xid, key) order past its cursor misses none.
ENDED = "xid < pg_snapshot_xmin(pg_current_snapshot())"
Position = tuple[str, uuid.UUID]


def _cursor(conn: psycopg.Connection[DictRow], name: str, lock: bool) -> Position | None:
    """A cursor's position; with `lock`, only when no one else holds it (then held until commit)."""
    row = conn.execute(
        "SELECT position_xid::text AS x, position_uuid AS u FROM work_cursors WHERE name = %s"
        + (" FOR UPDATE SKIP LOCKED" if lock else ""),
        (name,),
    ).fetchone()
    return (row["x"], row["u"]) if row else None


def _move(conn: psycopg.Connection[DictRow], name: str, position: Position) -> None:
    conn.execute(
        "UPDATE work_cursors SET position_xid = %s::xid8, position_uuid = %s WHERE name = %s",
        (position[0], position[1], name),
    )


def take_new(
    conn: psycopg.Connection[DictRow], limit: int, older_than: timedelta | None = None
) -> tuple[list[tuple[uuid.UUID, str | None]], Position | None]:
    """Lock the relay's cursor and return (with the id of the request that caused them) the rows past
    it, in commit order, and the cursor's position after them; nothing while another relay holds the
    cursor (or, with `older_than`, while the oldest such row is younger). The caller publishes them,
    then `advance`s the cursor in the same transaction: a publish that fails moves nothing. No row
    is written: dispatching leaves no dead version."""
    position = _cursor(conn, RELAY_CURSOR, lock=True)
    if position is None:
        return [], None
    rows = conn.execute(
        f"""SELECT correspondence_id, request_id, xid::text AS x, created FROM notification_outbox
            WHERE (xid, correspondence_id) > (%s::xid8, %s) AND {ENDED}
            ORDER BY xid, correspondence_id LIMIT %s""",
        (position[0], position[1], limit),
    ).fetchall()
    if not rows or (older_than is not None and rows[0]["created"] > datetime.now(UTC) - older_than):
        return [], None
    return [(r["correspondence_id"], r["request_id"]) for r in rows], (
        rows[-1]["x"],
        rows[-1]["correspondence_id"],
    )


def advance(conn: psycopg.Connection[DictRow], position: Position) -> None:
    _move(conn, RELAY_CURSOR, position)


def undo_dispatch(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]) -> None:
    """A re-send (`take_due_again`, `take_stale_for_dispatch`) never reached the broker: make the rows
    due for the relay at once."""
    conn.execute(
        "UPDATE notification_outbox SET dispatched_at = NULL, retry_at = now() WHERE correspondence_id = ANY(%s)",
        (ids,),
    )


class Claim(NamedTuple):
    attempts: int
    first: bool


def claim_pending(
    conn: psycopg.Connection[DictRow], ids: list[uuid.UUID], token: uuid.UUID, lease_seconds: float
) -> dict[uuid.UUID, Claim]:
    """Lease, under `token`, the outbox rows among ids (still there: not completed) that no other
    worker holds a live lease on (the caller commits at once: no lock is held while the gateway is
    called).

    Returns correspondence id → its claim: the attempts made so far, and whether this is the row's
    first claim (no worker held it before: none can have recorded an order of it)."""
    rows = conn.execute(
        """UPDATE notification_outbox o
           SET claimed_until = now() + make_interval(secs => %s), lease_owner = %s
           FROM (SELECT correspondence_id, lease_owner IS NULL AS first FROM notification_outbox
                 WHERE correspondence_id = ANY(%s) AND (claimed_until IS NULL OR claimed_until < now())
                 ORDER BY correspondence_id FOR UPDATE SKIP LOCKED) AS free
           WHERE o.correspondence_id = free.correspondence_id
           RETURNING o.correspondence_id, o.attempts, free.first""",
        (lease_seconds, token, ids),
    ).fetchall()
    return {r["correspondence_id"]: Claim(r["attempts"], r["first"]) for r in rows}


def held_by(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID], token: uuid.UUID) -> set[uuid.UUID]:
    """The rows among ids still held by `token`, locked until the caller commits: no one takes them
    over while their outcome is recorded."""
    rows = conn.execute(
        """SELECT correspondence_id FROM notification_outbox
           WHERE correspondence_id = ANY(%s) AND lease_owner = %s FOR UPDATE""",
        (ids, token),
    ).fetchall()
    return {r["correspondence_id"] for r in rows}


def load_for_orders(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """What order building reads of each correspondence: its title (the recipient's name filled in)
    and language, never the summary or body (a body is up to 10,000 characters a recipient). What an
    Initialize shares is read once per Initialize, not per row: a batch is mostly one or two of
    them, and each row decoded the same notification request again."""
    rows = conn.execute(
        f"SELECT c.id, c.recipient, c.initialization_id, {TITLE_COLUMN} FROM {CORRESPONDENCE} WHERE c.id = ANY(%s)",
        (ids,),
    ).fetchall()
    if not rows:
        return []
    shared = {
        r["id"]: r
        for r in conn.execute(
            """SELECT i.id, i.resource_id, i.senders_reference, i.requested_publish_time, i.ignore_reservation,
                      i.message_sender, i.sender, i.notification_request, i.language,
                      r.service_owner_name, r.title AS resource_title
               FROM initializations i LEFT JOIN resources r ON r.id = i.resource_id
               WHERE i.id = ANY(%s)""",
            (list({r["initialization_id"] for r in rows}),),
        ).fetchall()
    }
    return [{**shared[r["initialization_id"]], **r} for r in rows]


def recorded_order_ids(
    conn: psycopg.Connection[DictRow], candidates: dict[uuid.UUID, uuid.UUID]
) -> set[uuid.UUID]:
    """Those orders already recorded under one of their ids (candidate id → the order's id; by
    primary key: one index lookup each)."""
    if not candidates:
        return set()
    rows = conn.execute(
        "SELECT id FROM notification_orders WHERE id = ANY(%s)", (list(candidates),)
    ).fetchall()
    return {candidates[r["id"]] for r in rows}


def insert_orders(
    conn: psycopg.Connection[DictRow],
    recorded: Iterable[tuple[NotificationOrder, OrderOutcome]],
    gateway: str,
) -> set[uuid.UUID]:
    """Record the orders in one statement (a batch is hundreds); returns the ids inserted now (an
    order already recorded is left as is)."""
    rows = [
        {
            "id": str(o.id),
            "correspondence_id": str(o.correspondence_id),
            "is_reminder": o.is_reminder,
            "recipient_key": o.plan.key,
            "notification_template": int(o.template),
            "notification_channel": int(o.channel),
            "requested_send_time": o.requested_send_time.isoformat(),
            "status": out.status,
            "failure_reason": out.reason,
            "addresses": list(out.addresses),
            "notification_order_id": str(out.notification_order_id) if out.notification_order_id else None,
            "shipment_id": str(out.shipment_id) if out.shipment_id else None,
            "order_request": out.request or {},
        }
        for o, out in recorded
    ]
    if not rows:
        return set()
    found = conn.execute(
        """INSERT INTO notification_orders
             (id, correspondence_id, is_reminder, recipient_key, notification_template, notification_channel,
              requested_send_time, status, failure_reason, addresses, notification_order_id, shipment_id,
              order_request, gateway)
           SELECT r.id, r.correspondence_id, r.is_reminder, r.recipient_key, r.notification_template,
                  r.notification_channel, r.requested_send_time, r.status, r.failure_reason,
                  ARRAY(SELECT jsonb_array_elements_text(r.addresses)), r.notification_order_id, r.shipment_id,
                  r.order_request, %(gateway)s
           FROM jsonb_to_recordset(%(rows)s) AS r(
               id uuid, correspondence_id uuid, is_reminder boolean, recipient_key text,
               notification_template smallint, notification_channel smallint, requested_send_time timestamptz,
               status text, failure_reason text, addresses jsonb, notification_order_id uuid, shipment_id uuid,
               order_request jsonb)
           ON CONFLICT (id) DO NOTHING
           RETURNING id""",
        {"rows": Jsonb(rows), "gateway": gateway},
    ).fetchall()
    return {r["id"] for r in found}


def mark_completed(
    conn: psycopg.Connection[DictRow], ids: list[uuid.UUID], token: uuid.UUID | None = None
) -> None:
    """Complete the rows (those still held by `token`, when given): the statement that finishes a
    row deletes it (an update to `completed_at` left a dead version per correspondence)."""
    if ids:
        conn.execute(
            """DELETE FROM notification_outbox
               WHERE correspondence_id = ANY(%s) AND (%s::uuid IS NULL OR lease_owner = %s)""",
            (ids, token, token),
        )


def retry_later(
    conn: psycopg.Connection[DictRow], retry_in: dict[uuid.UUID, timedelta], token: uuid.UUID | None = None
) -> None:
    """Count the attempt and make each row due again after its delay: the relay sends it then,
    like new work (the one retry path of order creation). Only rows still held by `token`, when given."""
    if retry_in:
        conn.execute(
            """UPDATE notification_outbox o SET attempts = attempts + 1, dispatched_at = NULL,
                      retry_at = now() + t.delay, claimed_until = NULL
               FROM unnest(%s::uuid[], %s::interval[]) AS t(id, delay)
               WHERE o.correspondence_id = t.id AND (%s::uuid IS NULL OR o.lease_owner = %s)""",
            (list(retry_in), list(retry_in.values()), token, token),
        )


def release(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID], token: uuid.UUID) -> None:
    """End the lease of rows still held by `token` without counting an attempt (the worker was no
    longer sure of its lease): the relay sends them again at once."""
    if ids:
        conn.execute(
            """UPDATE notification_outbox SET claimed_until = NULL, dispatched_at = NULL, retry_at = now()
               WHERE correspondence_id = ANY(%s) AND lease_owner = %s""",
            (ids, token),
        )


# The sweep looks at this many of the oldest rows (rows left behind are the oldest; the relay finds
# retries and passed leases anywhere).
SWEEP_WINDOW = 20_000
# The relay looks for passed leases among those that passed this recently (the sweep for older ones).
RECENTLY = "interval '1 minute'"

# Due again: a retry whose time came (or a row released), or a row whose lease passed since it was
# last dispatched (its worker died: a live one renews its lease).
_DUE_AGAIN = """((retry_at <= now() AND (claimed_until IS NULL OR claimed_until < now()))
                 OR (claimed_until < now() AND (dispatched_at IS NULL OR dispatched_at < claimed_until)))"""


def _redispatch(
    conn: psycopg.Connection[DictRow], chosen: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"""UPDATE notification_outbox SET dispatched_at = now(), dispatch_count = dispatch_count + 1,
                   retry_at = NULL
            WHERE correspondence_id IN ({chosen})
            RETURNING correspondence_id, request_id, created""",
        params,
    ).fetchall()
    rows.sort(key=lambda r: (r["created"], r["request_id"] or "", r["correspondence_id"]))
    return rows


def take_due_again(conn: psycopg.Connection[DictRow], limit: int) -> list[tuple[uuid.UUID, str | None]]:
    """Mark as dispatched, and return like `take_new`, rows due again (retries whose time came, rows
    whose lease passed in the last minute). Through the two small indexes of the rare paths, so
    the relay may look every second. The caller commits before publishing."""
    rows = _redispatch(
        conn,
        f"""SELECT correspondence_id FROM notification_outbox
            WHERE correspondence_id IN (
                SELECT correspondence_id FROM notification_outbox WHERE retry_at <= now()
                UNION ALL
                SELECT correspondence_id FROM notification_outbox
                WHERE claimed_until < now() AND claimed_until > now() - {RECENTLY})
              AND {_DUE_AGAIN}
            ORDER BY created LIMIT %(limit)s FOR UPDATE SKIP LOCKED""",
        {"limit": limit},
    )
    return [(r["correspondence_id"], r["request_id"]) for r in rows]


def take_stale_for_dispatch(
    conn: psycopg.Connection[DictRow],
    *,
    redispatch_after: timedelta,
    limit: int,
    lost: bool = True,
) -> list[uuid.UUID]:
    """Mark as dispatched, and return, rows behind the relay's cursor that are due again (as in
    `take_due_again`, at any age) or were dispatched long ago and are held by no live lease (a
    message lost with its worker; only with `lost`), among the SWEEP_WINDOW oldest rows of the outbox: it reads from
    its low-water mark, which it moves up to the oldest row left, and never the whole backlog. The
    caller commits before publishing (no lock held meanwhile)."""
    oldest = _cursor(conn, OLDEST, lock=True)
    relay = _cursor(conn, RELAY_CURSOR, lock=False)
    if oldest is None or relay is None:
        return []
    first = conn.execute(
        """SELECT xid::text AS x, correspondence_id FROM notification_outbox
           WHERE (xid, correspondence_id) >= (%s::xid8, %s) ORDER BY xid, correspondence_id LIMIT 1""",
        oldest,
    ).fetchone()
    if first is None:
        return []
    _move(conn, OLDEST, (first["x"], first["correspondence_id"]))
    rows = _redispatch(
        conn,
        f"""SELECT correspondence_id FROM notification_outbox
            WHERE correspondence_id IN (
                      SELECT correspondence_id FROM notification_outbox
                      WHERE (xid, correspondence_id) >= (%(low_xid)s::xid8, %(low)s)
                        AND (xid, correspondence_id) <= (%(high_xid)s::xid8, %(high)s)
                      ORDER BY xid, correspondence_id LIMIT %(window)s)
              AND ({_DUE_AGAIN}
                   OR (%(lost)s AND retry_at IS NULL AND COALESCE(dispatched_at, created) < now() - %(after)s
                       AND (claimed_until IS NULL OR claimed_until < now())))
            ORDER BY xid, correspondence_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED""",
        {
            "low_xid": first["x"],
            "low": first["correspondence_id"],
            "high_xid": relay[0],
            "high": relay[1],
            "after": redispatch_after,
            "limit": limit,
            "window": SWEEP_WINDOW,
            "lost": lost,
        },
    )
    return [r["correspondence_id"] for r in rows]


def incomplete_among(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = conn.execute(
        "SELECT correspondence_id FROM notification_outbox WHERE correspondence_id = ANY(%s)", (ids,)
    ).fetchall()
    return {r["correspondence_id"] for r in rows}


def orders_for(
    conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    rows = conn.execute(
        """SELECT id, correspondence_id, is_reminder, status, notification_channel, requested_send_time,
                  addresses, notification_order_id, notification_sent, delivery_status
           FROM notification_orders WHERE correspondence_id = ANY(%s)
             AND recipient_key NOT LIKE 'forward:%%'  -- forwarding e-mails are not notifications
           ORDER BY correspondence_id, is_reminder, created, id""",
        (ids,),
    ).fetchall()
    result: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row["correspondence_id"], []).append(row)
    return result


def take_due_local_orders(conn: psycopg.Connection[DictRow], limit: int) -> list[dict[str, Any]]:
    """Successful local-gateway orders whose send time has come and that are not yet decided."""
    return conn.execute(
        """SELECT id, correspondence_id, is_reminder FROM notification_orders
           WHERE status = 'Success' AND gateway = 'local' AND notification_sent IS NULL
             AND delivery_status IS NULL AND requested_send_time <= now()
           ORDER BY requested_send_time LIMIT %s FOR UPDATE SKIP LOCKED""",
        (limit,),
    ).fetchall()


def record_deliveries(
    conn: psycopg.Connection[DictRow], sent: list[uuid.UUID], not_met: list[uuid.UUID]
) -> None:
    if sent:
        conn.execute(
            "UPDATE notification_orders SET notification_sent = now(), delivery_status = 'Sent' "
            "WHERE id = ANY(%s)",
            (sent,),
        )
    if not_met:
        conn.execute(
            "UPDATE notification_orders SET delivery_status = 'SendConditionNotMet' WHERE id = ANY(%s)",
            (not_met,),
        )
