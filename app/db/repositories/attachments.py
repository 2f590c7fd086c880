"""Attachments as Initialize sees them: owner, current status, size (SPEC.md §4.1 step 15)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class ExistingAttachment:
    id: uuid.UUID
    sender: str
    current_status: int | None
    size: int
    expiration_in_days: int | None


def get_attachments(conn: psycopg.Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, ExistingAttachment]:
    rows = conn.execute(
        """SELECT a.id, a.sender, a.attachment_size, a.expiration_in_days,
                  (SELECT s.status FROM attachment_statuses s WHERE s.attachment_id = a.id
                   ORDER BY s.status_changed DESC, s.id DESC LIMIT 1) AS current_status
           FROM attachments a WHERE a.id = ANY(%s)""",
        (ids,),
    ).fetchall()
    return {
        r["id"]: ExistingAttachment(r["id"], r["sender"], r["current_status"], r["attachment_size"],
                                    r["expiration_in_days"])
        for r in rows
    }
