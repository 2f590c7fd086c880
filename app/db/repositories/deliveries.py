"""Delivery per address (issue 25): the SQL of the e-mail worker's leased sending and of what
overview and details show."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from app.db.repositories.lifecycle import add_statuses
from app.domain.deliveries import (
    FORWARD_KEY_PREFIX,
    SENT,
    OrderDeliveries,
    PlannedDelivery,
    ReportedDelivery,
    delivery_events,
)
from app.domain.enums import CorrespondenceStatus
from app.domain.notification_orders import recipient_plan


def insert_planned(
    conn: psycopg.Connection[DictRow], rows: Iterable[tuple[uuid.UUID, uuid.UUID, PlannedDelivery]]
) -> None:
    """(order id, correspondence id, delivery) for orders recorded now; one statement."""
    values = [
        {
            "order_id": str(order_id),
            "correspondence_id": str(cid),
            "channel": d.channel,
            "address": d.address,
            "recipient_name": d.recipient_name,
            "status": d.status,
            "reason": d.reason,
            "reason_code": d.reason_code,
        }
        for order_id, cid, d in rows
    ]
    if values:
        conn.execute(
            """INSERT INTO notification_deliveries
                   (order_id, correspondence_id, channel, address, recipient_name, status, reason, reason_code)
               SELECT r.order_id, r.correspondence_id, r.channel, r.address, r.recipient_name, r.status,
                      r.reason, r.reason_code
               FROM jsonb_to_recordset(%s) AS r(order_id uuid, correspondence_id uuid, channel text,
                    address text, recipient_name text, status text, reason text, reason_code text)
               ON CONFLICT (order_id, channel, address) DO NOTHING""",
            (Jsonb(values),),
        )


def claim_due_emails(
    conn: psycopg.Connection[DictRow], token: uuid.UUID, lease_seconds: float, limit: int
) -> list[dict[str, Any]]:
    """Lease, under `token`, e-mail deliveries that are New (and due) or were left in Sending by a
    holder whose lease passed, of orders whose send time has come. The caller commits at once."""
    return conn.execute(
        """UPDATE notification_deliveries d
              SET locked_until = now() + make_interval(secs => %(seconds)s), lease_owner = %(token)s
             FROM notification_orders o
            WHERE o.id = d.order_id AND d.id IN (
                SELECT d2.id FROM notification_deliveries d2
                  JOIN notification_orders o2 ON o2.id = d2.order_id
                 WHERE d2.channel = 'Email' AND d2.status IN ('New', 'Sending') AND o2.gateway = 'smtp'
                   AND (d2.retry_at IS NULL OR d2.retry_at <= now())
                   AND (d2.locked_until IS NULL OR d2.locked_until < now())
                   AND o2.requested_send_time <= now()
                 ORDER BY d2.created, d2.id LIMIT %(limit)s FOR UPDATE OF d2 SKIP LOCKED)
        RETURNING d.id, d.order_id, d.correspondence_id, d.address, d.recipient_name, d.status,
                  d.attempts, d.created, d.reason, o.is_reminder, o.order_request""",
        {"seconds": lease_seconds, "token": token, "limit": limit},
    ).fetchall()


def mark_sending(
    conn: psycopg.Connection[DictRow], delivery_id: int, token: uuid.UUID, message_id: str
) -> bool:
    """Sending, if still held by `token` (committed by the caller before the message's last bytes)."""
    row = conn.execute(
        """UPDATE notification_deliveries SET status = 'Sending', message_id = %s, updated = now()
           WHERE id = %s AND lease_owner = %s AND locked_until > now() AND status = 'New' RETURNING id""",
        (message_id, delivery_id, token),
    ).fetchone()
    return row is not None


def record_final(
    conn: psycopg.Connection[DictRow],
    delivery_id: int,
    token: uuid.UUID,
    status: str,
    reason: str | None,
    reason_code: str | None,
) -> uuid.UUID | None:
    """A final status for a delivery still held by `token`; its order id, None when no longer held."""
    row = conn.execute(
        """UPDATE notification_deliveries
              SET status = %s, reason = %s, reason_code = %s, updated = now(), attempts = attempts + 1,
                  locked_until = NULL, retry_at = NULL
            WHERE id = %s AND lease_owner = %s AND status IN ('New', 'Sending') RETURNING order_id""",
        (status, reason, reason_code, delivery_id, token),
    ).fetchone()
    return row["order_id"] if row else None


def retry_later(
    conn: psycopg.Connection[DictRow], delivery_id: int, token: uuid.UUID, delay: timedelta, reason: str
) -> bool:
    """Due again after `delay`, if still New and held by `token`."""
    row = conn.execute(
        """UPDATE notification_deliveries
              SET attempts = attempts + 1, retry_at = now() + %s, reason = %s, locked_until = NULL, updated = now()
            WHERE id = %s AND lease_owner = %s AND status = 'New' RETURNING id""",
        (delay, reason, delivery_id, token),
    ).fetchone()
    return row is not None


def release(conn: psycopg.Connection[DictRow], ids: list[int], token: uuid.UUID, delay: timedelta) -> None:
    """End the lease of rows still held by `token` without an attempt; due again after `delay`."""
    if ids:
        conn.execute(
            """UPDATE notification_deliveries SET locked_until = NULL, retry_at = now() + %s
               WHERE id = ANY(%s) AND lease_owner = %s AND status = 'New'""",
            (delay, ids, token),
        )


def drop_not_sent(conn: psycopg.Connection[DictRow], order_ids: list[uuid.UUID], token: uuid.UUID) -> None:
    """The send condition is not met (reminder of a read correspondence, purged, Failed): the
    order is final without a message, as Notifications' Order_SendConditionNotMet; its unsent
    addresses are removed (nothing was sent to them)."""
    if order_ids:
        conn.execute(
            """DELETE FROM notification_deliveries WHERE order_id = ANY(%s) AND status = 'New'
               AND (lease_owner = %s OR locked_until IS NULL OR locked_until < now())""",
            (order_ids, token),
        )
        conn.execute(
            "UPDATE notification_orders SET delivery_status = 'SendConditionNotMet' WHERE id = ANY(%s)",
            (order_ids,),
        )


def finish_orders(
    conn: psycopg.Connection[DictRow], order_ids: Iterable[uuid.UUID]
) -> list[tuple[str, uuid.UUID, str | None]]:
    """Orders whose every address is now final: mark them (notification_sent = the first success)
    and return their delivery events (event, correspondence id, subject = the sender). The orders
    are locked first, so two workers finishing an order's last two addresses decide it once."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    orders = conn.execute(
        """SELECT o.id, o.is_reminder, o.recipient_key, o.correspondence_id, c.recipient, i.sender,
                  o.order_request ->> 'forwardedBy' AS forwarded_by
             FROM notification_orders o
             JOIN correspondences c ON c.id = o.correspondence_id
             JOIN initializations i ON i.id = c.initialization_id
            WHERE o.id = ANY(%s) AND o.delivery_status IS NULL
            ORDER BY o.id FOR UPDATE OF o""",
        (ids,),
    ).fetchall()
    if not orders:
        return []
    statuses: dict[uuid.UUID, list[str]] = {}
    for row in conn.execute(
        "SELECT order_id, status FROM notification_deliveries WHERE order_id = ANY(%s)",
        ([o["id"] for o in orders],),
    ):
        statuses.setdefault(row["order_id"], []).append(row["status"])
    events: list[tuple[str, uuid.UUID, str | None]] = []
    done: list[uuid.UUID] = []
    forwarded: list[tuple[uuid.UUID, str | None]] = []
    for o in orders:
        state = OrderDeliveries(
            o["is_reminder"],
            o["recipient_key"] == recipient_plan(o["recipient"]).key,
            tuple(statuses.get(o["id"], ())),
        )
        if not state.final:
            continue
        done.append(o["id"])
        if o["recipient_key"].startswith(FORWARD_KEY_PREFIX):  # a forwarding e-mail: no notification events
            if any(s in SENT for s in state.statuses):
                forwarded.append((o["correspondence_id"], o["forwarded_by"]))
            continue
        events += [(name, o["correspondence_id"], o["sender"]) for name in delivery_events(state)]
    if done:
        conn.execute(
            """UPDATE notification_orders o SET delivery_status = 'Completed',
                      notification_sent = (SELECT min(d.updated) FROM notification_deliveries d
                                           WHERE d.order_id = o.id AND d.status IN ('Succeeded', 'Delivered'))
               WHERE o.id = ANY(%s)""",
            (done,),
        )
    if forwarded:  # Forwarded (13) once the forwarding e-mail was accepted (SPEC.md §3.10)
        now = datetime.now(UTC)
        add_statuses(
            conn, [(cid, int(CorrespondenceStatus.Forwarded), "Forwarded", now, by) for cid, by in forwarded]
        )
    return events


def for_correspondences(
    conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Every address of the orders of these correspondences, by order id."""
    result: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in conn.execute(
        """SELECT order_id, channel, address, status, reason, updated FROM notification_deliveries
           WHERE correspondence_id = ANY(%s) ORDER BY order_id, channel, address""",
        (ids,),
    ):
        result.setdefault(row["order_id"], []).append(row)
    return result


# Following the orders of the altinn gateway (Notifications' shipment status).


def claim_checks(
    conn: psycopg.Connection[DictRow],
    token: uuid.UUID,
    lease_seconds: float,
    limit: int,
    first_delay: timedelta,
) -> list[dict[str, Any]]:
    """Lease, under `token`, orders of the altinn gateway whose delivery is not final and whose next
    check is due (the first `first_delay` after their send time). The caller commits at once."""
    return conn.execute(
        """UPDATE notification_orders
              SET check_locked_until = now() + make_interval(secs => %(seconds)s), check_lease_owner = %(token)s
            WHERE id IN (
                SELECT id FROM notification_orders
                 WHERE gateway = 'altinn' AND status = 'Success' AND delivery_status IS NULL
                   AND shipment_id IS NOT NULL
                   AND coalesce(check_due, requested_send_time + %(first)s) <= now()
                   AND (check_locked_until IS NULL OR check_locked_until < now())
                 ORDER BY coalesce(check_due, requested_send_time) LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
        RETURNING id, correspondence_id, shipment_id, check_attempts, created""",
        {"seconds": lease_seconds, "token": token, "limit": limit, "first": first_delay},
    ).fetchall()


def check_held(conn: psycopg.Connection[DictRow], order_id: uuid.UUID, token: uuid.UUID) -> bool:
    """Whether `token` still holds the order's check, locked until the caller commits."""
    return (
        conn.execute(
            "SELECT id FROM notification_orders WHERE id = %s AND check_lease_owner = %s "
            "AND check_locked_until IS NOT NULL AND delivery_status IS NULL FOR UPDATE",
            (order_id, token),
        ).fetchone()
        is not None
    )


def record_reported(
    conn: psycopg.Connection[DictRow],
    order_id: uuid.UUID,
    correspondence_id: uuid.UUID,
    reported: Iterable[ReportedDelivery],
) -> None:
    """Store what Notifications reports per address; a final Delivered or Failed is never undone."""
    values = [
        {"channel": r.channel, "address": r.address, "status": r.status, "reason": r.reason} for r in reported
    ]
    if values:
        conn.execute(
            """INSERT INTO notification_deliveries (order_id, correspondence_id, channel, address, status, reason,
                                                    reason_code)
               SELECT %s, %s, r.channel, r.address, r.status, r.reason, r.reason
               FROM jsonb_to_recordset(%s) AS r(channel text, address text, status text, reason text)
               ON CONFLICT (order_id, channel, address) DO UPDATE
                  SET status = excluded.status, reason = excluded.reason, reason_code = excluded.reason_code,
                      updated = now()
                WHERE notification_deliveries.status NOT IN ('Delivered', 'Failed')
                  AND notification_deliveries.status <> excluded.status""",
            (order_id, correspondence_id, Jsonb(values)),
        )


def fail_unfinished(conn: psycopg.Connection[DictRow], order_id: uuid.UUID, reason: str) -> None:
    """The order is given up (or final with addresses Notifications left open): those are Failed."""
    conn.execute(
        """UPDATE notification_deliveries SET status = 'Failed', reason = %s, reason_code = %s, updated = now()
           WHERE order_id = %s AND status IN ('New', 'Sending')""",
        (reason, reason, order_id),
    )


def end_check(
    conn: psycopg.Connection[DictRow],
    order_id: uuid.UUID,
    *,
    order_status: str | None,
    delivery_status: str | None,
    next_in: timedelta | None,
) -> None:
    """Count the check, store Notifications' order status, end the lease; `next_in`: when to look
    again; `delivery_status`: the order is done without events (condition not met, cancelled)."""
    conn.execute(
        """UPDATE notification_orders
              SET check_attempts = check_attempts + 1, check_locked_until = NULL,
                  check_due = CASE WHEN %(next)s::interval IS NULL THEN check_due ELSE now() + %(next)s END,
                  order_status = coalesce(%(order_status)s, order_status),
                  delivery_status = coalesce(%(delivery_status)s, delivery_status)
            WHERE id = %(id)s""",
        {"next": next_in, "order_status": order_status, "delivery_status": delivery_status, "id": order_id},
    )


def add_forward_email(
    conn: psycopg.Connection[DictRow],
    order_id: uuid.UUID,
    correspondence_id: uuid.UUID,
    address: str,
    key: str,
    request: dict[str, Any],
    *,
    shipment_id: uuid.UUID | None = None,
) -> None:
    """The forwarding e-mail as an order of one address: of the smtp gateway (New: the e-mail worker
    sends it like a notification, written in the forward's transaction), or, with `shipment_id`, of
    the altinn gateway (Notifications took it; the delivery checks follow it)."""
    gateway = "smtp" if shipment_id is None else "altinn"
    conn.execute(
        """INSERT INTO notification_orders (id, correspondence_id, is_reminder, recipient_key, notification_template,
                                            notification_channel, requested_send_time, status, addresses,
                                            order_request, gateway, shipment_id, notification_order_id)
           VALUES (%s, %s, false, %s, 0, 0, now(), 'Success', ARRAY[%s], %s, %s, %s, %s)
           ON CONFLICT (id) DO NOTHING""",
        (
            order_id,
            correspondence_id,
            FORWARD_KEY_PREFIX + key,
            address,
            Jsonb(request),
            gateway,
            shipment_id,
            order_id if shipment_id else None,
        ),
    )
    if shipment_id is None:
        insert_planned(conn, [(order_id, correspondence_id, PlannedDelivery("Email", address))])
