"""GET /attachment/{id} and /details: the sender's view of a shared attachment (SPEC.md §3.11)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import DictRow

from app.db.pool import Database
from app.db.repositories import shared_attachments as repo
from app.domain.access import is_sender
from app.domain.attachment_rules import data_type
from app.domain.errors import CorrespondenceError
from app.security.identity import Caller


def load_for_sender(
    conn: psycopg.Connection[DictRow], caller: Caller, attachment_id: uuid.UUID, *, lock: bool = False
) -> dict[str, Any]:
    """The attachment row (404/2001 when missing), if the caller's organization sent it (else 401/4001)."""
    row = repo.get_attachment(conn, attachment_id, lock=lock)
    if row is None:
        raise CorrespondenceError(2001)
    if not is_sender(caller, row["sender"]):
        raise CorrespondenceError(4001)
    return row


def get_attachment_overview(db: Database, caller: Caller, attachment_id: uuid.UUID) -> dict[str, Any]:
    with db.transaction() as conn:
        row = load_for_sender(conn, caller, attachment_id)
        return _overview(row, repo.correspondence_ids(conn, attachment_id))


def get_attachment_details(db: Database, caller: Caller, attachment_id: uuid.UUID) -> dict[str, Any]:
    with db.transaction() as conn:
        row = load_for_sender(conn, caller, attachment_id)
        view = _overview(row, repo.correspondence_ids(conn, attachment_id))
        view["status_history"] = repo.status_history(conn, attachment_id)
    view["display_name"] = view["display_name"] or row["file_name"]
    view["checksum"] = view["checksum"] or ""
    return view


def _overview(row: dict[str, Any], correspondence_ids: list[uuid.UUID]) -> dict[str, Any]:
    return {
        "attachment_id": row["id"],
        "resource_id": row["resource_id"],
        "sender": row["sender"],
        "file_name": row["file_name"],
        "display_name": row["display_name"],
        "is_encrypted": row["is_encrypted"],
        "checksum": row["checksum"],
        "senders_reference": row["senders_reference"],
        "expiration_in_days": row["expiration_in_days"],
        "status": row["status"],
        "status_text": row["status_text"],
        "status_changed": row["status_changed"],
        "correspondence_ids": correspondence_ids,
        "data_type": data_type(row["file_name"]),
    }
