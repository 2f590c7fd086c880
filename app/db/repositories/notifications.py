"""Notification outbox and orders: the SQL behind order creation, relay and Prefer: wait."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from app.db.repositories.correspondences import CONTENT_COLUMNS, CORRESPONDENCE
from app.domain.notification_orders import NotificationOrder, OrderOutcome


def undo_dispatch(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]) -> None:
    """The message never reached the broker: make the rows due for the relay at once."""
    conn.execute(
        "UPDATE notification_outbox SET dispatched_at = NULL "
        "WHERE correspondence_id = ANY(%s) AND completed_at IS NULL",
        (ids,),
    )


def take_undispatched(conn: psycopg.Connection[DictRow], limit: int) -> list[tuple[uuid.UUID, str | None]]:
    """Mark as dispatched, and return (with the id of the request that caused them), incomplete
    rows no one has dispatched yet. The caller commits before publishing."""
    rows = conn.execute(
        """UPDATE notification_outbox SET dispatched_at = now(), dispatch_count = dispatch_count + 1
           WHERE correspondence_id IN (
               SELECT correspondence_id FROM notification_outbox
               WHERE completed_at IS NULL AND dispatched_at IS NULL AND (retry_at IS NULL OR retry_at <= now())
               ORDER BY created LIMIT %s FOR UPDATE SKIP LOCKED)
           RETURNING correspondence_id, request_id, created""",
        (limit,),
    ).fetchall()
    rows.sort(key=lambda r: (r["created"], r["request_id"] or "", r["correspondence_id"]))
    return [(r["correspondence_id"], r["request_id"]) for r in rows]


def claim_pending(
    conn: psycopg.Connection[DictRow], ids: list[uuid.UUID], token: uuid.UUID, lease_seconds: float
) -> dict[uuid.UUID, int]:
    """Lease, under `token`, the still-incomplete outbox rows among ids that no other worker holds a
    live lease on (the caller commits at once: no lock is held while the gateway is called).

    Returns correspondence id → attempts made so far."""
    rows = conn.execute(
        """UPDATE notification_outbox SET claimed_until = now() + make_interval(secs => %s), lease_owner = %s
           WHERE correspondence_id IN (
               SELECT correspondence_id FROM notification_outbox
               WHERE correspondence_id = ANY(%s) AND completed_at IS NULL
                 AND (claimed_until IS NULL OR claimed_until < now())
               ORDER BY correspondence_id FOR UPDATE SKIP LOCKED)
           RETURNING correspondence_id, attempts""",
        (lease_seconds, token, ids),
    ).fetchall()
    return {r["correspondence_id"]: r["attempts"] for r in rows}


def held_by(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID], token: uuid.UUID) -> set[uuid.UUID]:
    """The incomplete rows among ids still held by `token`, locked until the caller commits: no one
    takes them over while their outcome is recorded."""
    rows = conn.execute(
        """SELECT correspondence_id FROM notification_outbox
           WHERE correspondence_id = ANY(%s) AND lease_owner = %s AND completed_at IS NULL
           FOR UPDATE""",
        (ids, token),
    ).fetchall()
    return {r["correspondence_id"] for r in rows}


def load_for_orders(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    return conn.execute(
        f"""SELECT c.id, c.recipient, i.resource_id, i.senders_reference, i.requested_publish_time,
                   i.ignore_reservation, i.message_sender, i.sender, i.notification_request, {CONTENT_COLUMNS},
                   r.service_owner_name, r.title AS resource_title
            FROM {CORRESPONDENCE}
            LEFT JOIN resources r ON r.id = i.resource_id
            WHERE c.id = ANY(%s)""",
        (ids,),
    ).fetchall()


def existing_order_ids(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = conn.execute(
        "SELECT id FROM notification_orders WHERE correspondence_id = ANY(%s)", (ids,)
    ).fetchall()
    return {r["id"] for r in rows}


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
    """Complete the rows (those still held by `token`, when given) and end their lease."""
    if ids:
        conn.execute(
            """UPDATE notification_outbox SET completed_at = now(), attempts = attempts + 1, claimed_until = NULL
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
            """UPDATE notification_outbox SET claimed_until = NULL, dispatched_at = NULL
               WHERE correspondence_id = ANY(%s) AND lease_owner = %s AND completed_at IS NULL""",
            (ids, token),
        )


def take_abandoned(conn: psycopg.Connection[DictRow], limit: int) -> list[tuple[uuid.UUID, str | None]]:
    """Mark as dispatched, and return like `take_undispatched`, incomplete rows whose lease passed
    since they were last dispatched: their worker died (a live one renews its lease) and they need a
    new message. The caller commits before publishing."""
    rows = conn.execute(
        """UPDATE notification_outbox SET dispatched_at = now(), dispatch_count = dispatch_count + 1
           WHERE correspondence_id IN (
               SELECT correspondence_id FROM notification_outbox
               WHERE completed_at IS NULL AND claimed_until < now() AND dispatched_at < claimed_until
               ORDER BY created LIMIT %s FOR UPDATE SKIP LOCKED)
           RETURNING correspondence_id, request_id, created""",
        (limit,),
    ).fetchall()
    rows.sort(key=lambda r: (r["created"], r["request_id"] or "", r["correspondence_id"]))
    return [(r["correspondence_id"], r["request_id"]) for r in rows]


def take_stale_for_dispatch(
    conn: psycopg.Connection[DictRow],
    *,
    undispatched_after: timedelta,
    redispatch_after: timedelta,
    limit: int,
) -> list[uuid.UUID]:
    """Mark as dispatched, and return, incomplete rows never dispatched for a while, dispatched long
    ago without completing and not held by a live lease (a message lost with its worker), or whose
    lease passed since they were last dispatched (their worker died). The caller commits before
    publishing (no lock held meanwhile)."""
    rows = conn.execute(
        """UPDATE notification_outbox SET dispatched_at = now(), dispatch_count = dispatch_count + 1
           WHERE correspondence_id IN (
               SELECT correspondence_id FROM notification_outbox
               WHERE completed_at IS NULL
                 AND ((dispatched_at IS NULL AND created < now() - %s AND (retry_at IS NULL OR retry_at <= now()))
                      OR (dispatched_at < now() - %s AND (claimed_until IS NULL OR claimed_until < now()))
                      OR (claimed_until < now() AND dispatched_at < claimed_until))
               ORDER BY created LIMIT %s FOR UPDATE SKIP LOCKED)
           RETURNING correspondence_id""",
        (undispatched_after, redispatch_after, limit),
    ).fetchall()
    return [r["correspondence_id"] for r in rows]


def incomplete_among(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = conn.execute(
        "SELECT correspondence_id FROM notification_outbox WHERE correspondence_id = ANY(%s) AND completed_at IS NULL",
        (ids,),
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
