"""Correspondences and their children: bulk insert with COPY, reads for overview/details."""
from __future__ import annotations

import json
import uuid
from contextlib import nullcontext
from typing import Any

import psycopg
from psycopg import pq
from psycopg.types.json import Json, Jsonb

from app.domain.correspondence import NewCorrespondence
from app.domain.enums import CorrespondenceStatus, IdempotencyType
from app.domain.ids import uuid7


# Up to this many correspondences, the rows go in as INSERTs in one pipeline (one round trip for all
# tables); above it, one COPY per table (two round trips each, but far cheaper per row).
PIPELINE_MAX_ITEMS = 10


def _copy(cur: psycopg.Cursor, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    if cur.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF:  # COPY cannot be pipelined
        placeholders = ", ".join(["%s"] * len(columns))
        cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows)
        return
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_correspondences(conn: psycopg.Connection, items: list[NewCorrespondence], party_urn: str | None,
                           request_id: str | None = None) -> None:
    """Write all rows of one Initialize in bulk (one COPY per table; a pipeline of INSERTs for a few
    correspondences) on the caller's transaction.

    The idempotency key goes in with a plain INSERT so that a concurrent duplicate raises
    UniqueViolation (mapped to 409/1034 by the use case).
    """
    texts = _JsonTexts()
    small = len(items) <= PIPELINE_MAX_ITEMS and psycopg.Pipeline.is_supported()
    pipeline = conn.pipeline() if small else nullcontext()
    with pipeline, conn.cursor() as cur:
        keys = [(c.idempotency_key, c.id, party_urn, int(IdempotencyType.Correspondence))
                for c in items if c.idempotency_key]
        _copy(cur, "correspondences", (
            "id", "resource_id", "recipient", "recipient_type", "sender", "service_owner_id",
            "senders_reference", "message_sender", "requested_publish_time", "due_date_time", "property_list",
            "ignore_reservation", "is_confirmation_needed", "is_confidential", "allow_forwarding", "created",
            "party_id", "notification_request", "original_request",
        ), [(
            c.id, c.resource_id, c.recipient, c.recipient_type, c.sender, c.service_owner_id,
            c.senders_reference, c.message_sender, c.requested_publish_time, c.due_date_time,
            Json(texts.of(c.property_list), _as_is), c.ignore_reservation, c.is_confirmation_needed,
            c.is_confidential, c.allow_forwarding, c.created, 0,
            Jsonb(texts.of(c.notification_request), _as_is) if c.notification_request is not None else None,
            Jsonb(texts.original(c.original_request), _as_is),
        ) for c in items])
        if keys:
            cur.executemany(
                """INSERT INTO idempotency_keys (id, correspondence_id, party_urn, idempotency_type)
                   VALUES (%s, %s, %s, %s)""",
                keys,
            )
        _copy(cur, "correspondence_contents",
              ("id", "correspondence_id", "language", "message_title", "message_summary", "message_body"),
              [(c.content.id, c.id, c.content.language, c.content.message_title, c.content.message_summary,
                c.content.message_body) for c in items])
        _copy(cur, "correspondence_statuses",
              ("id", "correspondence_id", "status", "status_text", "status_changed", "party_urn"),
              [(uuid7(), c.id, s.status, s.status_text, s.status_changed, party_urn)
               for c in items for s in c.statuses])
        _copy(cur, "external_references", ("id", "correspondence_id", "reference_type", "reference_value"),
              [(uuid7(), c.id, t, v) for c in items for t, v in c.external_references])
        _copy(cur, "reply_options", ("id", "correspondence_id", "link_url", "link_text"),
              [(uuid7(), c.id, url, text) for c in items for url, text in c.reply_options])
        _copy(cur, "correspondence_attachments",
              ("id", "correspondence_content_id", "attachment_id", "created", "expiration_time"),
              [(uuid7(), c.content.id, att, c.created, exp) for c in items for att, exp in c.attachments])
        # Marked dispatched up front: the request publishes right after commit (and clears the mark
        # if the broker is down). Marking later would lock rows a fast worker is already claiming.
        _copy(cur, "notification_outbox",
              ("correspondence_id", "created", "dispatched_at", "dispatch_count", "request_id"),
              [(c.id, c.created, c.created, 1, request_id) for c in items if c.wants_notification_orders])
        # Every correspondence gets its publish job; due-date checks for those not Reserved (§1.6).
        _copy(cur, "pending_publications", ("correspondence_id", "due_at"),
              [(c.id, c.requested_publish_time) for c in items])
        _copy(cur, "pending_due_dates", ("correspondence_id", "due_at"),
              [(c.id, c.due_date_time) for c in items
               if c.due_date_time is not None and c.status != CorrespondenceStatus.Reserved])


def get_fetched(conn: psycopg.Connection, correspondence_id: uuid.UUID) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT id, 3 AS status, status_text, status_changed FROM correspondence_fetched
           WHERE correspondence_id = %s ORDER BY status_changed, id""",
        (correspondence_id,),
    ).fetchall()


def _as_is(text: bytes) -> bytes:
    return text


class _JsonTexts:
    """JSON of the request documents, each made once per Initialize: its rows share one notification
    request and property list, and their original requests differ only in `recipients` (shallow
    copies of one request, so the other values are the same objects)."""

    def __init__(self) -> None:
        self._by_id: dict[int, bytes] = {}
        self._originals: dict[tuple[tuple[str, int], ...], tuple[str, str]] = {}
        self._mark = json.dumps(f"\x00{uuid.uuid4().hex}")  # a value no request can hold

    def of(self, value: Any) -> bytes:
        text = self._by_id.get(id(value))
        if text is None:
            text = self._by_id[id(value)] = json.dumps(value).encode()
        return text

    def original(self, request: dict[str, Any]) -> bytes:
        if "recipients" not in request:
            return json.dumps(request).encode()
        shape = tuple((k, id(v)) for k, v in request.items() if k != "recipients")
        parts = self._originals.get(shape)
        if parts is None:
            rest = {k: v for k, v in request.items() if k != "recipients"}
            rest["recipients"] = json.loads(self._mark)
            head, _, tail = json.dumps(rest).rpartition(self._mark)
            parts = self._originals[shape] = (head, tail)
        return f"{parts[0]}{json.dumps(request['recipients'])}{parts[1]}".encode()


def idempotency_key_exists(conn: psycopg.Connection, key: uuid.UUID) -> bool:
    return conn.execute("SELECT 1 FROM idempotency_keys WHERE id = %s", (key,)).fetchone() is not None


def get_correspondence(conn: psycopg.Connection, correspondence_id: uuid.UUID) -> dict[str, Any] | None:
    """One correspondence with content, history, references, reply options and attachments."""
    row = conn.execute(
        """SELECT c.*, ct.id AS content_id, ct.language, ct.message_title, ct.message_summary, ct.message_body
           FROM correspondences c JOIN correspondence_contents ct ON ct.correspondence_id = c.id
           WHERE c.id = %s""",
        (correspondence_id,),
    ).fetchone()
    if row is None:
        return None
    row["statuses"] = conn.execute(
        """SELECT id, status, status_text, status_changed FROM correspondence_statuses
           WHERE correspondence_id = %s ORDER BY status_changed, status, id""",
        (correspondence_id,),
    ).fetchall()
    row["fetched"] = conn.execute(
        """SELECT id, 3 AS status, status_text, status_changed FROM correspondence_fetched
           WHERE correspondence_id = %s ORDER BY status_changed, status, id""",
        (correspondence_id,),
    ).fetchall()
    row["external_references"] = conn.execute(
        """SELECT reference_type, reference_value FROM external_references
           WHERE correspondence_id = %s ORDER BY id""",
        (correspondence_id,),
    ).fetchall()
    row["reply_options"] = conn.execute(
        "SELECT link_url, link_text FROM reply_options WHERE correspondence_id = %s ORDER BY id",
        (correspondence_id,),
    ).fetchall()
    row["attachments"] = conn.execute(
        """SELECT a.id, a.file_name, a.display_name, a.is_encrypted, a.checksum, a.senders_reference,
                  a.data_location_type, ca.created, ca.expiration_time,
                  s.status, s.status_text, s.status_changed
           FROM correspondence_attachments ca
           JOIN attachments a ON a.id = ca.attachment_id
           LEFT JOIN LATERAL (SELECT status, status_text, status_changed FROM attachment_statuses
                              WHERE attachment_id = a.id ORDER BY status_changed DESC, id DESC LIMIT 1) s ON true
           WHERE ca.correspondence_content_id = %s ORDER BY ca.created, a.id""",
        (row["content_id"],),
    ).fetchall()
    return row


def status_sets(conn: psycopg.Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, set[int]]:
    """Every status each correspondence has ever had (Fetched excluded: separate table)."""
    rows = conn.execute(
        "SELECT correspondence_id, array_agg(DISTINCT status) AS statuses FROM correspondence_statuses "
        "WHERE correspondence_id = ANY(%s) GROUP BY correspondence_id",
        (ids,),
    ).fetchall()
    return {r["correspondence_id"]: set(r["statuses"]) for r in rows}
