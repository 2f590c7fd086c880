"""Attachments as Initialize sees them: owner, current status, size (SPEC.md §4.1 step 15)."""

from __future__ import annotations

import uuid
from datetime import datetime

import psycopg
from psycopg.rows import DictRow

from app.domain.initialize import ExistingAttachment


def get_attachments(
    conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]
) -> dict[uuid.UUID, ExistingAttachment]:
    # Share-lock first, in its own statement, so that the status read below (a new snapshot) sees
    # a concurrent purge that held the row; a purge that comes later waits for our commit.
    conn.execute("SELECT id FROM attachments WHERE id = ANY(%s) ORDER BY id FOR SHARE", (ids,))
    rows = conn.execute(
        """SELECT a.id, a.sender, a.attachment_size, a.expiration_in_days,
                  (SELECT s.status FROM attachment_statuses s WHERE s.attachment_id = a.id
                   ORDER BY s.status_changed DESC, s.id DESC LIMIT 1) AS current_status
           FROM attachments a WHERE a.id = ANY(%s)""",
        (ids,),
    ).fetchall()
    return {
        r["id"]: ExistingAttachment(
            r["id"], r["sender"], r["current_status"], r["attachment_size"], r["expiration_in_days"]
        )
        for r in rows
    }


def latest_expirations(
    conn: psycopg.Connection[DictRow], ids: list[uuid.UUID]
) -> dict[uuid.UUID, datetime | None]:
    """Per attachment, the latest link expiration over its non-purged correspondences (SPEC.md §4.1
    step 18). None when a link never expires; attachments without such links are left out."""
    if not ids:
        return {}
    rows = conn.execute(
        """SELECT ca.attachment_id, bool_or(ca.expiration_time IS NULL) AS never,
                  max(ca.expiration_time) AS latest
           FROM live_links ca
           WHERE ca.attachment_id = ANY(%s)
           GROUP BY ca.attachment_id""",
        (ids,),
    ).fetchall()
    return {r["attachment_id"]: None if r["never"] else r["latest"] for r in rows}
