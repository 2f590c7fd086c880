"""Rows for the "download all attachments" zip (issue 26): the correspondence and its attachments."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import DictRow


def correspondence(conn: psycopg.Connection[DictRow], correspondence_id: uuid.UUID) -> dict[str, Any] | None:
    """Parties (for the recipient check) and the title (for the zip's name)."""
    return conn.execute(
        "SELECT c.id, i.sender, c.recipient, i.resource_id, i.message_title FROM correspondences c "
        "JOIN initializations i ON i.id = c.initialization_id WHERE c.id = %s",
        (correspondence_id,),
    ).fetchone()


def attachments(conn: psycopg.Connection[DictRow], correspondence_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every attachment of the correspondence, in the order they were added, with the link's
    expiration time and the set of statuses the attachment has ever had."""
    rows = conn.execute(
        """SELECT a.id, a.file_name, a.attachment_size, ca.expiration_time,
                  ARRAY(SELECT DISTINCT s.status FROM attachment_statuses s WHERE s.attachment_id = a.id)
                      AS ever
           FROM correspondences c
           JOIN initialization_attachments ca ON ca.initialization_id = c.initialization_id
           JOIN attachments a ON a.id = ca.attachment_id
           WHERE c.id = %s ORDER BY ca.created, a.id""",
        (correspondence_id,),
    ).fetchall()
    for row in rows:
        row["ever"] = set(row["ever"])
    return rows
