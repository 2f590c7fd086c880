"""SQL of the lifecycle: publish and due-date scans, status rows, Fetched rows, events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import DictRow

from app.db.arrays import TextArray, UuidArray
from app.domain.ids import uuid7


def take_due_publications(conn: psycopg.Connection[DictRow], limit: int) -> list[uuid.UUID]:
    """Lock due publish jobs, one per initialization (SKIP LOCKED: two workers never take the same one)."""
    rows = conn.execute(
        """SELECT initialization_id FROM publication_queue WHERE due_at <= now()
           ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED""",
        (limit,),
    ).fetchall()
    return [r["initialization_id"] for r in rows]


def correspondences_to_publish(
    conn: psycopg.Connection[DictRow], initialization_ids: list[uuid.UUID]
) -> list[dict[str, Any]]:
    """The correspondences of these initializations, with what the publish decision reads."""
    return conn.execute(
        """SELECT c.id, c.initialization_id, c.recipient, i.ignore_reservation,
                  COALESCE(pt.reserved, false) AS recipient_reserved
           FROM correspondences c
           JOIN initializations i ON i.id = c.initialization_id
           LEFT JOIN parties pt ON pt.urn = c.recipient AND c.recipient LIKE 'urn:altinn:person:identifier-no:%%'
           WHERE c.initialization_id = ANY(%s) ORDER BY c.id""",
        (initialization_ids,),
    ).fetchall()


def attachment_states(
    conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[int | None, bool]]]:
    rows = conn.execute(
        """SELECT c.id AS correspondence_id, a.id,
                  (SELECT s.status FROM attachment_statuses s WHERE s.attachment_id = a.id
                   ORDER BY s.status_changed DESC, s.id DESC LIMIT 1) AS current,
                  EXISTS (SELECT 1 FROM attachment_statuses s WHERE s.attachment_id = a.id AND s.status = 2)
                      AS ever_published
           FROM correspondences c
           JOIN initialization_attachments ca ON ca.initialization_id = c.initialization_id
           JOIN attachments a ON a.id = ca.attachment_id
           WHERE c.id = ANY(%s)""",
        (ids,),
    ).fetchall()
    result: dict[uuid.UUID, list[tuple[int | None, bool]]] = {}
    for r in rows:
        result.setdefault(r["correspondence_id"], []).append((r["current"], r["ever_published"]))
    return result


def finish_publication(conn: psycopg.Connection[DictRow], initialization_ids: list[uuid.UUID]) -> None:
    if initialization_ids:
        conn.execute("DELETE FROM publication_queue WHERE initialization_id = ANY(%s)", (initialization_ids,))


def postpone_publication(
    conn: psycopg.Connection[DictRow], initialization_ids: list[uuid.UUID], delay: timedelta
) -> None:
    if initialization_ids:
        conn.execute(
            "UPDATE publication_queue SET due_at = now() + %s, checks = checks + 1 "
            "WHERE initialization_id = ANY(%s)",
            (delay, initialization_ids),
        )


def add_statuses(
    conn: psycopg.Connection[DictRow], rows: list[tuple[uuid.UUID, int, str, datetime, str | None]]
) -> None:
    """rows: (correspondence id, status, status text, changed, party urn)."""
    if not rows:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO correspondence_statuses
                   (id, correspondence_id, status, status_text, status_changed, party_urn)
               VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
            [(uuid7(), *row) for row in rows],
        )


def add_events(conn: psycopg.Connection[DictRow], rows: Sequence[tuple[Any, ...]]) -> None:
    """rows: (event type, correspondence id, subject[, order id]), in that order of ids; one statement.
    The subject a subscriber sees is decided at fan-out (app/domain/events.subject_of); the order id
    is the instance of a notificationcreated event."""
    if rows:
        conn.execute(
            """INSERT INTO correspondence_events (event_type, correspondence_id, subject, order_id)
               SELECT t.e, t.c, t.s, t.o FROM unnest(%b::text[], %b::uuid[], %b::text[], %s::uuid[])
                   WITH ORDINALITY AS t(e, c, s, o, n)
               ORDER BY t.n""",
            (
                TextArray([r[0] for r in rows]),
                UuidArray([r[1] for r in rows]),
                TextArray([r[2] for r in rows]),
                [r[3] if len(r) > 3 else None for r in rows],
            ),
        )


def take_due_dates(
    conn: psycopg.Connection[DictRow], limit: int
) -> tuple[list[uuid.UUID], list[dict[str, Any]]]:
    """Lock due due-date jobs (one per initialization); returns them and their correspondences."""
    taken = conn.execute(
        """SELECT initialization_id FROM due_date_queue WHERE due_at <= now()
           ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED""",
        (limit,),
    ).fetchall()
    jobs = [r["initialization_id"] for r in taken]
    if not jobs:
        return [], []
    return jobs, conn.execute(
        """SELECT c.id, c.initialization_id, c.recipient, i.is_confirmation_needed
           FROM correspondences c JOIN initializations i ON i.id = c.initialization_id
           WHERE c.initialization_id = ANY(%s) ORDER BY c.id""",
        (jobs,),
    ).fetchall()


def finish_due_dates(conn: psycopg.Connection[DictRow], initialization_ids: list[uuid.UUID]) -> None:
    if initialization_ids:
        conn.execute("DELETE FROM due_date_queue WHERE initialization_id = ANY(%s)", (initialization_ids,))


def add_fetched(
    conn: psycopg.Connection[DictRow],
    correspondence_id: uuid.UUID,
    party_urn: str | None,
    at: datetime,
    debounce: timedelta | None = None,
) -> dict[str, Any] | None:
    """A Fetched row (returned in the shape of get_fetched's rows); with `debounce`, skipped (None)
    when the same party fetched within that window."""
    if debounce is not None:
        recent = conn.execute(
            """SELECT 1 FROM correspondence_fetched WHERE correspondence_id = %s
               AND party_urn IS NOT DISTINCT FROM %s AND status_changed > %s LIMIT 1""",
            (correspondence_id, party_urn, at - debounce),
        ).fetchone()
        if recent:
            return None
    return conn.execute(
        """INSERT INTO correspondence_fetched (id, correspondence_id, status_changed, party_urn)
           VALUES (%s, %s, %s, %s) RETURNING id, 3 AS status, status_text, status_changed""",
        (uuid7(), correspondence_id, at, party_urn),
    ).fetchone()


def ever_fetched(conn: psycopg.Connection[DictRow], correspondence_id: uuid.UUID) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM correspondence_fetched WHERE correspondence_id = %s LIMIT 1", (correspondence_id,)
        ).fetchone()
        is not None
    )


def lock_correspondence(
    conn: psycopg.Connection[DictRow], correspondence_id: uuid.UUID
) -> dict[str, Any] | None:
    """The correspondence row locked for a status change (serializes read/confirm/purge)."""
    return conn.execute(
        """SELECT c.id, i.sender, c.recipient, i.is_confirmation_needed, i.resource_id, i.allow_forwarding
           FROM correspondences c JOIN initializations i ON i.id = c.initialization_id
           WHERE c.id = %s FOR UPDATE OF c""",
        (correspondence_id,),
    ).fetchone()


def unused_attachment_ids(conn: psycopg.Connection[DictRow], correspondence_id: uuid.UUID) -> list[uuid.UUID]:
    """Attachments of this correspondence no longer used by any non-purged correspondence.

    Locks them first (own statement): an Initialize linking one of them holds a share lock until
    it commits, and the query below, a new snapshot, then sees that link."""
    conn.execute(
        """SELECT a.id FROM attachments a WHERE a.id IN (
               SELECT ca.attachment_id FROM correspondences c
               JOIN initialization_attachments ca ON ca.initialization_id = c.initialization_id
               WHERE c.id = %s) ORDER BY a.id FOR UPDATE""",
        (correspondence_id,),
    )
    rows = conn.execute(
        """SELECT DISTINCT ca.attachment_id FROM correspondences c
           JOIN initialization_attachments ca ON ca.initialization_id = c.initialization_id
           WHERE c.id = %s AND NOT EXISTS (
               SELECT 1 FROM live_links o WHERE o.attachment_id = ca.attachment_id AND o.correspondence_id <> %s)""",
        (correspondence_id, correspondence_id),
    ).fetchall()
    return [r["attachment_id"] for r in rows]


def purge_attachments(
    conn: psycopg.Connection[DictRow], ids: list[uuid.UUID], party_urn: str | None, at: datetime
) -> None:
    if ids:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO attachment_statuses (id, attachment_id, status, status_text, status_changed, "
                "party_urn) VALUES (%s, %s, 3, 'Purged', %s, %s)",
                [(uuid7(), i, at, party_urn) for i in ids],
            )


def take_expired_attachments(conn: psycopg.Connection[DictRow], limit: int) -> list[uuid.UUID]:
    """Published attachments whose every live link has an expiration time that has passed (§1.7)."""
    rows = conn.execute(
        """SELECT a.id FROM attachments a
           WHERE (SELECT s.status FROM attachment_statuses s WHERE s.attachment_id = a.id
                  ORDER BY s.status_changed DESC, s.id DESC LIMIT 1) = 2
             AND EXISTS (SELECT 1 FROM live_links l WHERE l.attachment_id = a.id)
             AND NOT EXISTS (SELECT 1 FROM live_links l WHERE l.attachment_id = a.id
                             AND (l.expiration_time IS NULL OR l.expiration_time > now()))
           ORDER BY a.id LIMIT %s FOR UPDATE OF a SKIP LOCKED""",
        (limit,),
    ).fetchall()
    return [r["id"] for r in rows]


def expire_attachments(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID], at: datetime) -> None:
    if ids:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO attachment_statuses (id, attachment_id, status, status_text, status_changed) "
                "VALUES (%s, %s, 5, 'The attachment has expired', %s)",
                [(uuid7(), i, at) for i in ids],
            )
