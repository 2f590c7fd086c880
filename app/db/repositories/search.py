"""The search query of GET /correspondence (SPEC.md §3.6)."""

from __future__ import annotations

import uuid
from datetime import datetime

import psycopg
from psycopg.rows import DictRow

HIDDEN_FOR_RECIPIENT = (0, 1, 11)  # Initialized, ReadyForPublish, Failed
# A correspondence's latest status; Initialized (0, never stored) when no later one is.
CURRENT_STATUS = """coalesce((SELECT s.status FROM correspondence_statuses s WHERE s.correspondence_id = c.id
                   ORDER BY s.status_changed DESC, s.status DESC, s.id DESC LIMIT 1), 0)"""


def by_idempotency_key(
    conn: psycopg.Connection[DictRow],
    key: uuid.UUID,
    *,
    resource_id: str,
    party: str,
    as_recipient: bool,
    as_sender: bool,
) -> list[uuid.UUID]:
    """The correspondence created with this key, if the caller may see it in this search."""
    rows = conn.execute(
        f"""SELECT k.correspondence_id,
                  i.sender = %s AS mine_to_send,
                  c.recipient = %s AND {CURRENT_STATUS} <> ALL(%s) AS mine_to_read
           FROM idempotency_keys k JOIN correspondences c ON c.id = k.correspondence_id
           JOIN initializations i ON i.id = c.initialization_id
           WHERE k.id = %s AND i.resource_id = %s""",
        (party, party, list(HIDDEN_FOR_RECIPIENT), key, resource_id),
    ).fetchall()
    return [
        r["correspondence_id"]
        for r in rows
        if (as_sender and r["mine_to_send"]) or (as_recipient and r["mine_to_read"])
    ]


def search(
    conn: psycopg.Connection[DictRow],
    *,
    resource_id: str,
    party: str,
    as_recipient: bool,
    as_sender: bool,
    date_from: datetime | None,
    date_to: datetime | None,
    status: int | None,
    senders_reference: str | None,
    offset: int,
    limit: int,
    altinn2_correspondence_id: int | None = None,
) -> list[uuid.UUID]:
    sides = []
    params: list[object] = []
    if as_recipient:
        if status is not None:
            side = """(c.recipient = %s AND %s <> ALL(%s) AND EXISTS (SELECT 1 FROM correspondence_statuses s
                       WHERE s.correspondence_id = c.id AND s.status = %s))"""
            params += [party, status, list(HIDDEN_FOR_RECIPIENT), status]
        else:
            side = f"(c.recipient = %s AND {CURRENT_STATUS} <> ALL(%s))"
            params += [party, list(HIDDEN_FOR_RECIPIENT)]
        sides.append(side)
    if as_sender:
        side = "(i.sender = %s"
        params.append(party)
        if status is not None:
            side += (
                " AND (%s = 0 OR EXISTS (SELECT 1 FROM correspondence_statuses s"
                " WHERE s.correspondence_id = c.id AND s.status = %s))"
            )
            params += [status, status]
        sides.append(side + ")")
    where = ["i.resource_id = %s", "(" + " OR ".join(sides) + ")"]
    params = [resource_id, *params]
    if date_from is not None:
        where.append("i.requested_publish_time > %s")
        params.append(date_from)
    if date_to is not None:
        where.append("i.requested_publish_time < %s")
        params.append(date_to)
    if senders_reference is not None:
        where.append("i.senders_reference = %s")
        params.append(senders_reference)
    if altinn2_correspondence_id is not None:
        where.append("c.altinn2_correspondence_id = %s")
        params.append(altinn2_correspondence_id)
    rows = conn.execute(
        "SELECT c.id FROM correspondences c JOIN initializations i ON i.id = c.initialization_id "
        f"WHERE {' AND '.join(where)} "
        "ORDER BY i.requested_publish_time DESC, c.id DESC OFFSET %s LIMIT %s",
        (*params, offset, limit),
    ).fetchall()
    return [r["id"] for r in rows]
