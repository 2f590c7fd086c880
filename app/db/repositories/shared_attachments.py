"""Attachment rows for the attachment endpoints and uploads: create, read, status history, links."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow

from app.domain.enums import AttachmentStatus
from app.domain.ids import uuid7

_CURRENT = """(SELECT s.{col} FROM attachment_statuses s WHERE s.attachment_id = a.id
               ORDER BY s.status_changed DESC, s.id DESC LIMIT 1)"""


@dataclass(frozen=True)
class NewAttachmentRow:
    id: uuid.UUID
    resource_id: str
    file_name: str
    display_name: str | None
    is_encrypted: bool
    checksum: str | None
    senders_reference: str
    sender: str
    service_owner_id: str
    data_location_type: int
    expiration_in_days: int | None
    created: datetime


def insert_attachments(
    conn: psycopg.Connection[DictRow], rows: list[NewAttachmentRow], party_urn: str | None
) -> None:
    """The rows and their first status, Initialized."""
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO attachments (id, resource_id, file_name, display_name, is_encrypted, checksum,
                                        senders_reference, sender, data_location_type, expiration_in_days,
                                        created, service_owner_id)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                (
                    r.id,
                    r.resource_id,
                    r.file_name,
                    r.display_name,
                    r.is_encrypted,
                    r.checksum or None,
                    r.senders_reference,
                    r.sender,
                    r.data_location_type,
                    r.expiration_in_days,
                    r.created,
                    r.service_owner_id,
                )
                for r in rows
            ],
        )
        cur.executemany(
            """INSERT INTO attachment_statuses (id, attachment_id, status, status_text, status_changed, party_urn)
               VALUES (%s, %s, %s, 'Initialized', %s, %s)""",
            [(uuid7(), r.id, int(AttachmentStatus.Initialized), r.created, party_urn) for r in rows],
        )


def get_attachment(
    conn: psycopg.Connection[DictRow], attachment_id: uuid.UUID, *, lock: bool = False
) -> dict[str, Any] | None:
    """The row with its current status (latest by time) and the set of statuses it has ever had.

    `lock` takes the row for update: uploads and purges of one attachment run one at a time.
    """
    row = conn.execute(
        f"""SELECT a.*, {_CURRENT.format(col="status")} AS status,
                   {_CURRENT.format(col="status_text")} AS status_text,
                   {_CURRENT.format(col="status_changed")} AS status_changed,
                   ARRAY(SELECT DISTINCT s.status FROM attachment_statuses s WHERE s.attachment_id = a.id)
                       AS ever
            FROM attachments a WHERE a.id = %s {"FOR UPDATE OF a" if lock else ""}""",
        (attachment_id,),
    ).fetchone()
    if row is not None:
        row["ever"] = set(row["ever"])
    return row


def status_history(conn: psycopg.Connection[DictRow], attachment_id: uuid.UUID) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT status, status_text, status_changed FROM attachment_statuses
           WHERE attachment_id = %s ORDER BY status_changed, id""",
        (attachment_id,),
    ).fetchall()


def add_status(
    conn: psycopg.Connection[DictRow],
    attachment_id: uuid.UUID,
    status: int,
    text: str,
    at: datetime,
    party_urn: str | None,
) -> None:
    conn.execute(
        """INSERT INTO attachment_statuses (id, attachment_id, status, status_text, status_changed, party_urn)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (uuid7(), attachment_id, status, text, at, party_urn),
    )


def set_uploaded(
    conn: psycopg.Connection[DictRow], attachment_id: uuid.UUID, size: int, checksum: str, location: str
) -> None:
    conn.execute(
        """UPDATE attachments SET attachment_size = %s, checksum = %s, data_location_url = %s WHERE id = %s""",
        (size, checksum, location, attachment_id),
    )


def correspondence_ids(conn: psycopg.Connection[DictRow], attachment_id: uuid.UUID) -> list[uuid.UUID]:
    """The correspondences linking this attachment, oldest link first."""
    rows = conn.execute(
        """SELECT c.id AS correspondence_id FROM initialization_attachments ca
           JOIN correspondences c ON c.initialization_id = ca.initialization_id
           WHERE ca.attachment_id = %s ORDER BY ca.created, c.id""",
        (attachment_id,),
    ).fetchall()
    return [r["correspondence_id"] for r in rows]


def linked_to_published(conn: psycopg.Connection[DictRow], attachment_id: uuid.UUID) -> bool:
    """Some correspondence linking this attachment has been Published (sender download: 2016)."""
    return (
        conn.execute(
            """SELECT 1 FROM initialization_attachments ca
           JOIN correspondences c ON c.initialization_id = ca.initialization_id
           JOIN correspondence_statuses s ON s.correspondence_id = c.id AND s.status = 2
           WHERE ca.attachment_id = %s LIMIT 1""",
            (attachment_id,),
        ).fetchone()
        is not None
    )


def correspondence_link(
    conn: psycopg.Connection[DictRow], correspondence_id: uuid.UUID, attachment_id: uuid.UUID
) -> dict[str, Any] | None:
    """The link of one attachment to one correspondence (with its expiration time), or None."""
    return conn.execute(
        """SELECT ca.expiration_time FROM initialization_attachments ca
           JOIN correspondences c ON c.initialization_id = ca.initialization_id
           WHERE c.id = %s AND ca.attachment_id = %s""",
        (correspondence_id, attachment_id),
    ).fetchone()


def correspondence_parties(
    conn: psycopg.Connection[DictRow], correspondence_id: uuid.UUID
) -> dict[str, Any] | None:
    return conn.execute(
        "SELECT c.id, i.sender, c.recipient, i.resource_id FROM correspondences c "
        "JOIN initializations i ON i.id = c.initialization_id WHERE c.id = %s",
        (correspondence_id,),
    ).fetchone()
