"""Correspondences: one Initialize written in one statement, reads for overview/details."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Json, Jsonb

from app.db.arrays import SmallintArray, TextArray, UuidArray
from app.domain.enums import CorrespondenceStatus, IdempotencyType
from app.domain.initialize_rows import NewInitialization

# The correspondence as every read sees it: the thin row joined to what its Initialize shares.
CORRESPONDENCE = "correspondences c JOIN initializations i ON i.id = c.initialization_id"
# Its content as this recipient reads it (the {{recipientName}} placeholder filled in).
TITLE_COLUMN = """CASE WHEN c.recipient_name IS NULL THEN i.message_title
         ELSE replace(i.message_title, '{{recipientName}}', c.recipient_name) END AS message_title"""
CONTENT_COLUMNS = (
    "i.language, "
    + TITLE_COLUMN
    + """,
    CASE WHEN c.recipient_name IS NULL THEN i.message_summary
         ELSE replace(i.message_summary, '{{recipientName}}', c.recipient_name) END AS message_summary,
    CASE WHEN c.recipient_name IS NULL THEN i.message_body
         ELSE replace(i.message_body, '{{recipientName}}', c.recipient_name) END AS message_body"""
)

# Every correspondence is Initialized at its Initialize's `created`: derived on reads, never stored.
INITIALIZED = int(CorrespondenceStatus.Initialized)
_STATUS_NAMES = {int(s): s.name for s in CorrespondenceStatus}
# A correspondence's `published` is its Published status row's time (one at most: a unique index).
PUBLISHED = int(CorrespondenceStatus.Published)

# One statement writes a whole Initialize, whatever its number of recipients: the shared row once,
# then per-recipient rows from arrays (unnest), so a request costs one round trip.
_INSERT_INITIALIZATION = f"""
WITH initialization AS (
    INSERT INTO initializations
        (id, resource_id, sender, service_owner_id, senders_reference, message_sender, requested_publish_time,
         due_date_time, property_list, ignore_reservation, is_confirmation_needed, is_confidential,
         allow_forwarding, created, notification_request, language, message_title, message_summary,
         message_body, external_references, reply_options)
    VALUES (%(id)s, %(resource_id)s, %(sender)s, %(service_owner_id)s, %(senders_reference)s, %(message_sender)s,
            %(publish)s, %(due)s, %(property_list)s, %(ignore_reservation)s, %(is_confirmation_needed)s,
            %(is_confidential)s, %(allow_forwarding)s, %(now)s, %(notification)s, %(language)s, %(title)s,
            %(summary)s, %(body)s, %(references)s, %(reply_options)s)
), thin AS (
    INSERT INTO correspondences (id, initialization_id, recipient, recipient_name)
    SELECT t.id, %(id)s, t.recipient, t.name
    FROM unnest(%(ids)b::uuid[], %(recipients)b::text[], %(names)b::text[]) AS t(id, recipient, name)
), statuses AS (
    INSERT INTO correspondence_statuses (id, correspondence_id, status, status_text, status_changed, party_urn)
    -- Time-ordered ids, as every later status row's (uuid7): the correspondence's own first 8 bytes
    -- (its millisecond and counter) and 8 random ones. Random ids scattered each insert over the
    -- whole primary key, which stops fitting in memory long before the table does.
    SELECT encode(substring(uuid_send(t.correspondence_id) FROM 1 FOR 8)
                  || substring(uuid_send(gen_random_uuid()) FROM 9 FOR 8), 'hex')::uuid,
           t.correspondence_id, t.status, t.status_text, %(now)s, %(party)s
    FROM unnest(%(status_owners)b::uuid[], %(statuses)b::smallint[], %(status_texts)b::text[])
        AS t(correspondence_id, status, status_text)
), links AS (
    INSERT INTO initialization_attachments (initialization_id, attachment_id, created, expiration_time)
    SELECT %(id)s, t.attachment_id, %(now)s, t.expiration_time
    FROM unnest(%(attachment_ids)b::uuid[], %(expirations)b::timestamptz[]) AS t(attachment_id, expiration_time)
), outbox AS (
    INSERT INTO notification_outbox (correspondence_id, created, request_id)
    SELECT t.id, %(now)s, %(request_id)s FROM unnest(%(outbox)b::uuid[]) AS t(id)
), publication AS (
    INSERT INTO publication_queue (initialization_id, due_at) VALUES (%(id)s, %(publish)s)
), due_date AS (
    INSERT INTO due_date_queue (initialization_id, due_at) SELECT %(id)s, %(due)s WHERE %(due)s IS NOT NULL
), idempotency AS (
    INSERT INTO idempotency_keys (id, correspondence_id, party_urn, idempotency_type)
    SELECT %(key)s, %(first_id)s, %(party)s, {int(IdempotencyType.Correspondence)} WHERE %(key)s::uuid IS NOT NULL
), events AS (
    -- One row for the whole Initialize: the fan-out makes one CloudEvent per correspondence of it.
    INSERT INTO correspondence_events (event_type, initialization_id, created)
    VALUES ('correspondenceinitialized', %(id)s, %(now)s)
)
SELECT 1
"""


def insert_initialization(
    conn: psycopg.Connection[DictRow],
    new: NewInitialization,
    party_urn: str | None,
    request_id: str | None = None,
) -> None:
    """Write one Initialize on the caller's transaction: its shared row, its thin correspondences,
    their statuses after Initialized (ReadyForPublish or Reserved; Initialized itself is not stored:
    every correspondence has it, at its Initialize's `created`, and reads add it), attachment links,
    idempotency key and work rows (an outbox row per
    correspondence with orders to create; the publication and due-date jobs once for all). The relay
    finds the outbox rows by looking past its cursor (no NOTIFY: it serialized concurrent commits).

    A concurrent duplicate idempotency key raises UniqueViolation (mapped to 409/1034 by the use case).
    """
    v = new.valid
    rows = new.correspondences
    # Status ids need no order: a history is ordered by time, then status (the later of two rows
    # written at one instant always has the higher status).
    ids = UuidArray([c.id for c in rows])
    owners, statuses, texts = UuidArray(), SmallintArray(), TextArray()
    for c in rows:
        if c.status != INITIALIZED:
            owners.append(c.id)
            statuses.append(c.status)
            texts.append(_STATUS_NAMES[c.status])
    outbox = UuidArray([c.id for c in rows if c.wants_notification_orders])
    # Usually every correspondence has a stored status and an outbox row: then the three arrays are
    # one, dumped once.
    if len(owners) == len(ids):
        owners = ids
    if len(outbox) == len(ids):
        outbox = ids
    conn.execute(
        _INSERT_INITIALIZATION,
        {
            "id": new.id,
            "resource_id": v.resource.id,
            "sender": v.sender,
            "service_owner_id": v.resource.owner_org_number,
            "senders_reference": v.senders_reference,
            "message_sender": v.message_sender,
            "publish": v.requested_publish_time,
            "due": v.due_date_time,
            "property_list": Json(v.property_list),
            "ignore_reservation": v.ignore_reservation,
            "is_confirmation_needed": v.is_confirmation_needed,
            "is_confidential": v.is_confidential,
            "allow_forwarding": v.allow_forwarding,
            "now": new.created,
            "notification": Jsonb(v.notification) if v.notification is not None else None,
            "language": v.language,
            "title": v.message_title,
            "summary": v.message_summary,
            "body": v.message_body,
            "references": Jsonb(
                [{"reference_type": int(t), "reference_value": value} for t, value in v.external_references]
            ),
            "reply_options": Jsonb([{"link_url": url, "link_text": text} for url, text in v.reply_options]),
            "ids": ids,
            "recipients": TextArray([c.recipient for c in rows]),
            "names": TextArray([c.recipient_name for c in rows]),
            "party": party_urn,
            "status_owners": owners,
            "statuses": statuses,
            "status_texts": texts,
            "attachment_ids": UuidArray([a.attachment_id for a in new.attachments]),
            "expirations": [a.expiration_time for a in new.attachments],
            "request_id": request_id,
            "outbox": outbox,
            "key": v.idempotency_key,
            "first_id": ids[0] if ids else None,
        },
    )


def get_fetched(conn: psycopg.Connection[DictRow], correspondence_id: uuid.UUID) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT id, 3 AS status, status_text, status_changed FROM correspondence_fetched
           WHERE correspondence_id = %s ORDER BY status_changed, id""",
        (correspondence_id,),
    ).fetchall()


def get_correspondence(
    conn: psycopg.Connection[DictRow], correspondence_id: uuid.UUID
) -> dict[str, Any] | None:
    """One correspondence with content, history, references, reply options and attachments."""
    row = conn.execute(
        f"""SELECT c.id, c.initialization_id, c.recipient, c.altinn2_correspondence_id,
                   (SELECT s.status_changed FROM correspondence_statuses s
                    WHERE s.correspondence_id = c.id AND s.status = {PUBLISHED}) AS published,
                   i.resource_id, i.sender, i.service_owner_id, i.senders_reference, i.message_sender,
                   i.requested_publish_time, i.due_date_time, i.property_list, i.ignore_reservation,
                   i.is_confirmation_needed, i.is_confidential, i.allow_forwarding, i.created,
                   i.notification_request, i.external_references, i.reply_options, {CONTENT_COLUMNS}
            FROM {CORRESPONDENCE} WHERE c.id = %s""",
        (correspondence_id,),
    ).fetchone()
    if row is None:
        return None
    row["statuses"] = [
        {
            "id": row["id"],
            "status": INITIALIZED,
            "status_text": "Initialized",
            "status_changed": row["created"],
        },
        *conn.execute(
            """SELECT id, status, status_text, status_changed FROM correspondence_statuses
               WHERE correspondence_id = %s ORDER BY status_changed, status, id""",
            (correspondence_id,),
        ).fetchall(),
    ]
    row["fetched"] = conn.execute(
        """SELECT id, 3 AS status, status_text, status_changed FROM correspondence_fetched
           WHERE correspondence_id = %s ORDER BY status_changed, status, id""",
        (correspondence_id,),
    ).fetchall()
    row["attachments"] = conn.execute(
        """SELECT a.id, a.file_name, a.display_name, a.is_encrypted, a.checksum, a.senders_reference,
                  a.data_location_type, ca.created, ca.expiration_time,
                  s.status, s.status_text, s.status_changed
           FROM initialization_attachments ca
           JOIN attachments a ON a.id = ca.attachment_id
           LEFT JOIN LATERAL (SELECT status, status_text, status_changed FROM attachment_statuses
                              WHERE attachment_id = a.id ORDER BY status_changed DESC, id DESC LIMIT 1) s ON true
           WHERE ca.initialization_id = %s ORDER BY ca.created, a.id""",
        (row["initialization_id"],),
    ).fetchall()
    return row


def status_sets(conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]) -> dict[uuid.UUID, set[int]]:
    """Every status each existing correspondence has ever had: Initialized, which every one has (it
    is not stored), and its stored ones (Fetched excluded: separate table)."""
    rows = conn.execute(
        """SELECT c.id, array_agg(DISTINCT s.status) FILTER (WHERE s.status IS NOT NULL) AS statuses
           FROM correspondences c LEFT JOIN correspondence_statuses s ON s.correspondence_id = c.id
           WHERE c.id = ANY(%s) GROUP BY c.id""",
        (ids,),
    ).fetchall()
    return {r["id"]: {INITIALIZED, *(r["statuses"] or ())} for r in rows}
