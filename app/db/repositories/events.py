"""Events outbox, subscriptions and deliveries (migration 0008)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from app.domain.events import VALIDATION_TYPE, OutboxEvent, Subscription, subject_of

_SUBSCRIPTION = """s.id, s.end_point, s.resource_filter, s.type_filter, s.subject_filter, s.consumer, s.created_by,
    s.status, s.status_reason, s.failures, s.next_probe_at, s.created, s.validated,
    (SELECT count(*) FROM event_deliveries d WHERE d.subscription_id = s.id AND d.delivered_at IS NOT NULL)
        AS delivered,
    (SELECT count(*) FROM event_deliveries d WHERE d.subscription_id = s.id AND d.delivered_at IS NULL
        AND d.failed_at IS NULL) AS pending,
    (SELECT count(*) FROM event_deliveries d WHERE d.subscription_id = s.id AND d.failed_at IS NOT NULL)
        AS failed"""


# -- subscriptions ---------------------------------------------------------------------------------


def create_subscription(
    conn: psycopg.Connection[DictRow],
    *,
    end_point: str,
    resource_filter: str,
    type_filter: str | None,
    subject_filter: str | None,
    consumer: str,
    created_by: str,
    secret: str,
) -> int:
    row = conn.execute(
        """INSERT INTO event_subscriptions (end_point, resource_filter, type_filter, subject_filter, consumer,
                                            created_by, secret)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (end_point, resource_filter, type_filter, subject_filter, consumer, created_by, secret),
    ).fetchone()
    assert row is not None  # INSERT … RETURNING: one row
    return int(row["id"])


def subscription_secrets(conn: psycopg.Connection[DictRow]) -> list[dict[str, Any]]:
    """Every subscription's stored secret (deleted ones too: nothing stays in clear), locked."""
    return conn.execute("SELECT id, secret FROM event_subscriptions ORDER BY id FOR UPDATE").fetchall()


def set_subscription_secret(conn: psycopg.Connection[DictRow], subscription_id: int, secret: str) -> None:
    conn.execute("UPDATE event_subscriptions SET secret = %s WHERE id = %s", (secret, subscription_id))


def add_validation(conn: psycopg.Connection[DictRow], subscription_id: int, event: dict[str, Any]) -> None:
    """The validation event is the subscription's first delivery (same signing, retries and SSRF checks)."""
    conn.execute(
        """INSERT INTO event_deliveries (subscription_id, event_id, event_type, payload)
           VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
        (subscription_id, event["id"], VALIDATION_TYPE, Jsonb(event)),
    )


def get_subscription(conn: psycopg.Connection[DictRow], subscription_id: int) -> dict[str, Any] | None:
    return conn.execute(
        f"SELECT {_SUBSCRIPTION} FROM event_subscriptions s WHERE s.id = %s AND s.deleted IS NULL",
        (subscription_id,),
    ).fetchone()


def list_subscriptions(
    conn: psycopg.Connection[DictRow], consumer: str, limit: int = 1000
) -> list[dict[str, Any]]:
    return conn.execute(
        f"""SELECT {_SUBSCRIPTION} FROM event_subscriptions s WHERE s.consumer = %s AND s.deleted IS NULL
            ORDER BY s.id LIMIT %s""",
        (consumer, limit),
    ).fetchall()


def count_subscriptions(conn: psycopg.Connection[DictRow], consumer: str) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM event_subscriptions WHERE consumer = %s AND deleted IS NULL", (consumer,)
    ).fetchone()
    assert row is not None  # count(*): always one row
    return int(row["n"])


def delete_subscription(conn: psycopg.Connection[DictRow], subscription_id: int) -> None:
    conn.execute(
        "UPDATE event_subscriptions SET deleted = now() WHERE id = %s AND deleted IS NULL", (subscription_id,)
    )


def live_subscriptions(
    conn: psycopg.Connection[DictRow], resource_filters: Iterable[str]
) -> list[tuple[Subscription, str, str]]:
    """Subscriptions that collect deliveries (active, and pending ones: theirs wait until validated),
    each with its consumer and who made it ('sender' or 'recipient')."""
    rows = conn.execute(
        """SELECT id, resource_filter, type_filter, subject_filter, created, consumer, created_by
           FROM event_subscriptions
           WHERE status IN ('pending', 'active') AND deleted IS NULL AND resource_filter = ANY(%s)""",
        (list(set(resource_filters)),),
    ).fetchall()
    return [
        (
            Subscription(r["id"], r["resource_filter"], r["type_filter"], r["subject_filter"], r["created"]),
            r["consumer"],
            r["created_by"],
        )
        for r in rows
    ]


# -- the outbox: fan-out into deliveries --------------------------------------------------------------


FAN_OUT_CURSOR = "correspondence_events"


def take_outbox(conn: psycopg.Connection[DictRow], limit: int) -> list[dict[str, Any]]:
    """Lock the fan-out's cursor and return the rows past it, in commit order (migration 0019), with
    their resource; nothing while another fan-out holds the cursor. The caller moves the cursor
    (`forwarded_through`) in the same transaction: a forwarded row is never written to."""
    cursor = conn.execute(
        """SELECT position_xid::text AS x, position_id AS i FROM work_cursors WHERE name = %s
           FOR UPDATE SKIP LOCKED""",
        (FAN_OUT_CURSOR,),
    ).fetchone()
    if cursor is None:
        return []
    # Each row's correspondence, Initialize and attachment by primary key, one lookup per row (a
    # LATERAL with LIMIT is never turned into a join): with autovacuum off the tables are never
    # analyzed, and a plan made while they were small hashed a whole table per page (the events
    # outbox itself: 180 ms a page at 400,000 rows).
    return conn.execute(
        """WITH taken AS (SELECT id, xid, event_type, created, correspondence_id, initialization_id,
                                 attachment_id, subject, order_id
                          FROM correspondence_events
                          WHERE (xid, id) > (%s::xid8, %s) AND xid < pg_snapshot_xmin(pg_current_snapshot())
                          ORDER BY xid, id LIMIT %s)
           SELECT e.id, e.xid::text AS xid, e.event_type, e.created, e.correspondence_id, e.initialization_id,
                  e.attachment_id, e.subject, e.order_id,
                  COALESCE(i.resource_id, a.resource_id) AS resource_id,
                  COALESCE(i.sender, a.sender) AS sender, c.recipient
           FROM taken e
           LEFT JOIN LATERAL (SELECT initialization_id, recipient FROM correspondences
                              WHERE id = e.correspondence_id LIMIT 1) c ON true
           LEFT JOIN LATERAL (SELECT resource_id, sender FROM initializations
                              WHERE id = COALESCE(c.initialization_id, e.initialization_id) LIMIT 1) i ON true
           LEFT JOIN LATERAL (SELECT resource_id, sender FROM attachments
                              WHERE id = e.attachment_id LIMIT 1) a ON true
           ORDER BY e.xid, e.id""",
        (cursor["x"], cursor["i"], limit),
    ).fetchall()


def expand(conn: psycopg.Connection[DictRow], rows: list[dict[str, Any]]) -> list[OutboxEvent]:
    """One CloudEvent per row; an Initialize row gives one per correspondence of it, read here and
    not at Initialize. The subject is Altinn's for the event type (`subject_of`): the sender, or the
    recipient for the few events that are the recipient's."""
    events: list[OutboxEvent] = []
    init_rows = {r["initialization_id"]: r for r in rows if r["initialization_id"] is not None}
    recipients: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    if init_rows:
        for c in conn.execute(
            """SELECT id, initialization_id, recipient FROM correspondences
                                 WHERE initialization_id = ANY(%s) ORDER BY id""",
            (list(init_rows),),
        ):
            recipients.setdefault(c["initialization_id"], []).append((c["id"], c["recipient"]))
    for r in rows:
        if r["resource_id"] is None:
            continue
        name = r["event_type"]
        if r["initialization_id"] is not None:
            events.extend(
                OutboxEvent(
                    r["id"],
                    name,
                    r["created"],
                    r["resource_id"],
                    cid,
                    subject_of(name, r["sender"], recipient),
                )
                for cid, recipient in recipients.get(r["initialization_id"], ())
            )
        elif r["attachment_id"] is not None:
            subject = r["sender"] or r["subject"]
            events.append(
                OutboxEvent(r["id"], name, r["created"], r["resource_id"], r["attachment_id"], subject)
            )
        else:
            instance = r["order_id"] or r["correspondence_id"]
            subject = subject_of(name, r["sender"], r["recipient"] or r["subject"])
            events.append(OutboxEvent(r["id"], name, r["created"], r["resource_id"], instance, subject))
    return events


def insert_deliveries(
    conn: psycopg.Connection[DictRow], rows: list[tuple[int, uuid.UUID, str, dict[str, Any]]]
) -> None:
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO event_deliveries (subscription_id, event_id, event_type, payload)
                   VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                [(s, e, t, Jsonb(p)) for s, e, t, p in rows],
            )


def forwarded_through(conn: psycopg.Connection[DictRow], last: dict[str, Any]) -> None:
    """Move the fan-out's cursor past `last` (a row of `take_outbox`) and every row before it."""
    conn.execute(
        "UPDATE work_cursors SET position_xid = %s::xid8, position_id = %s WHERE name = %s",
        (last["xid"], last["id"], FAN_OUT_CURSOR),
    )


# -- deliveries ------------------------------------------------------------------------------------------


def claim_deliveries(
    conn: psycopg.Connection[DictRow],
    limit: int,
    per_endpoint: int,
    token: uuid.UUID,
    lease_seconds: float,
    *,
    failing: bool = False,
) -> list[dict]:
    """Due deliveries leased to this worker under `token` (app/usecases/lease.py): a worker that dies
    mid-post leaves them to the next scan once its lease passes.

    Healthy subscriptions (`failing=False`) get up to `per_endpoint` in flight each; a subscription
    whose last deliveries failed (`failing=True`) is backed off as a whole: one probe at a time, once
    its `next_probe_at` has come. A pending subscription gets only its validation event."""
    return conn.execute(
        """WITH subs AS (
               SELECT s.id, s.status,
                      %(cap)s - (SELECT count(*) FROM event_deliveries b
                                 WHERE b.subscription_id = s.id AND b.delivered_at IS NULL
                                   AND b.failed_at IS NULL AND b.locked_until IS NOT NULL
                                   AND b.locked_until > now()) AS room
               FROM event_subscriptions s
               WHERE s.deleted IS NULL AND s.status IN ('pending', 'active')
                 AND (s.failures > 0) = %(failing)s
                 AND (s.failures = 0 OR s.next_probe_at IS NULL OR s.next_probe_at <= now())
           ), due AS (
               SELECT d.id, d.next_attempt_at FROM subs CROSS JOIN LATERAL (
                   SELECT d.id, d.next_attempt_at FROM event_deliveries d
                   WHERE d.subscription_id = subs.id AND d.delivered_at IS NULL AND d.failed_at IS NULL
                     AND d.next_attempt_at <= now() AND (d.locked_until IS NULL OR d.locked_until <= now())
                     AND (subs.status = 'active' OR d.event_type = %(validation)s)
                   ORDER BY d.next_attempt_at, d.id LIMIT GREATEST(subs.room, 0)) d
           ), picked AS (
               SELECT d.id FROM event_deliveries d JOIN due ON due.id = d.id
               WHERE d.delivered_at IS NULL AND (d.locked_until IS NULL OR d.locked_until <= now())
               ORDER BY due.next_attempt_at LIMIT %(limit)s FOR UPDATE OF d SKIP LOCKED
           )
           UPDATE event_deliveries d SET locked_until = now() + make_interval(secs => %(lease)s),
                                         lease_owner = %(token)s, attempts = d.attempts + 1
           FROM picked, event_subscriptions s
           WHERE d.id = picked.id AND s.id = d.subscription_id
           RETURNING d.id, d.subscription_id, d.event_id, d.event_type, d.payload, d.attempts, d.created,
                     s.end_point, s.secret, s.failures AS subscription_failures""",
        {
            "validation": VALIDATION_TYPE,
            "cap": 1 if failing else per_endpoint,
            "failing": failing,
            "limit": limit,
            "lease": lease_seconds,
            "token": token,
        },
    ).fetchall()


def give_up_old(conn: psycopg.Connection[DictRow], give_up_seconds: float, limit: int = 1000) -> int:
    """Deliveries older than the give-up age fail for good here, when claiming, whether or not their
    subscription is being probed; a validation event among them fails its subscription."""
    rows = conn.execute(
        """WITH old AS (
               SELECT id FROM event_deliveries
               WHERE delivered_at IS NULL AND failed_at IS NULL
                 AND created <= now() - make_interval(secs => %s)
                 AND (locked_until IS NULL OR locked_until <= now())
               ORDER BY created LIMIT %s FOR UPDATE SKIP LOCKED)
           UPDATE event_deliveries d SET failed_at = now(), locked_until = NULL,
                  last_error = left('gave up: ' || COALESCE(d.last_error, 'never delivered'), 500)
           FROM old WHERE d.id = old.id RETURNING d.subscription_id, d.event_type""",
        (give_up_seconds, limit),
    ).fetchall()
    for r in rows:
        if r["event_type"] == VALIDATION_TYPE:
            fail_subscription(conn, r["subscription_id"], "its validation event was never answered with 2xx")
    return len(rows)


def fail_subscription(conn: psycopg.Connection[DictRow], subscription_id: int, reason: str) -> None:
    """A subscription whose validation failed for good: failed, and its waiting deliveries dropped."""
    changed = conn.execute(
        """UPDATE event_subscriptions SET status = 'failed', status_reason = %s
           WHERE id = %s AND status = 'pending' RETURNING id""",
        (reason, subscription_id),
    ).fetchone()
    if changed is not None:
        conn.execute(
            """UPDATE event_deliveries SET failed_at = now(), locked_until = NULL,
                      last_error = 'dropped: the subscription was never validated'
               WHERE subscription_id = %s AND delivered_at IS NULL AND failed_at IS NULL""",
            (subscription_id,),
        )


def subscription_succeeded(conn: psycopg.Connection[DictRow], subscription_id: int) -> None:
    conn.execute(
        "UPDATE event_subscriptions SET failures = 0, next_probe_at = NULL WHERE id = %s AND failures > 0",
        (subscription_id,),
    )


def subscription_failed(conn: psycopg.Connection[DictRow], subscription_id: int, probe_at: datetime) -> None:
    """One more failure in a row: the next probe of the whole subscription at `probe_at`."""
    conn.execute(
        "UPDATE event_subscriptions SET failures = failures + 1, next_probe_at = %s WHERE id = %s",
        (probe_at, subscription_id),
    )


# The record steps below write only while the delivery is still held by `token` (None: by anyone): a
# delivery taken over after its lease passed is recorded by its new holder.
_HELD = "(%(token)s::uuid IS NULL OR lease_owner = %(token)s)"


def record_delivered(
    conn: psycopg.Connection[DictRow], delivery_id: int, status: int, token: uuid.UUID | None = None
) -> bool:
    row = conn.execute(
        f"""UPDATE event_deliveries SET delivered_at = now(), locked_until = NULL, last_status = %(status)s,
                   last_error = NULL
            WHERE id = %(id)s AND delivered_at IS NULL AND {_HELD} RETURNING subscription_id, event_type""",
        {"status": status, "id": delivery_id, "token": token},
    ).fetchone()
    if row is not None and row["event_type"] == VALIDATION_TYPE:
        conn.execute(
            """UPDATE event_subscriptions SET status = 'active', validated = now()
                        WHERE id = %s AND status = 'pending'""",
            (row["subscription_id"],),
        )
    return row is not None


def record_retry(
    conn: psycopg.Connection[DictRow],
    delivery_id: int,
    next_attempt_at: datetime,
    status: int | None,
    error: str,
    token: uuid.UUID | None = None,
) -> bool:
    row = conn.execute(
        f"""UPDATE event_deliveries SET next_attempt_at = %(next)s, locked_until = NULL, last_status = %(status)s,
                   last_error = %(error)s
            WHERE id = %(id)s AND delivered_at IS NULL AND {_HELD} RETURNING id""",
        {"next": next_attempt_at, "status": status, "error": error[:500], "id": delivery_id, "token": token},
    ).fetchone()
    return row is not None


def record_failed(
    conn: psycopg.Connection[DictRow],
    delivery_id: int,
    status: int | None,
    error: str,
    token: uuid.UUID | None = None,
) -> bool:
    row = conn.execute(
        f"""UPDATE event_deliveries SET failed_at = now(), locked_until = NULL, last_status = %(status)s,
                   last_error = %(error)s
            WHERE id = %(id)s AND delivered_at IS NULL AND {_HELD} RETURNING subscription_id, event_type""",
        {"status": status, "error": error[:500], "id": delivery_id, "token": token},
    ).fetchone()
    if row is not None and row["event_type"] == VALIDATION_TYPE:
        fail_subscription(conn, row["subscription_id"], f"its validation event failed: {error[:200]}")
    return row is not None


def release_deliveries(conn: psycopg.Connection[DictRow], ids: list[int], token: uuid.UUID) -> None:
    """End the lease of deliveries still held by `token` that were not posted (the worker was no
    longer sure of its lease): the next scan takes them."""
    if ids:
        conn.execute(
            """UPDATE event_deliveries SET locked_until = NULL
               WHERE id = ANY(%s) AND lease_owner = %s AND delivered_at IS NULL AND failed_at IS NULL""",
            (ids, token),
        )


def delivery_counts(conn: psycopg.Connection[DictRow]) -> dict[str, int]:
    """For /metrics: deliveries waiting (due or leased) and failed for good (both partial indexes)."""
    row = conn.execute(
        """SELECT (SELECT count(*) FROM event_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL) AS pending,
                  (SELECT count(*) FROM event_deliveries WHERE failed_at IS NOT NULL) AS failed"""
    ).fetchone()
    assert row is not None  # a SELECT without FROM: always one row
    return {k: int(v) for k, v in row.items()}
