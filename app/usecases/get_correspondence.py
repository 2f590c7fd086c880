"""Overview and details of one correspondence, for its sender or its recipient (SPEC.md §3.4, §3.5, §2.6).

A caller who is neither gets 404/1001, as for a correspondence that does not exist.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from app.db.pool import Database
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import deliveries as delivery_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.db.repositories import notifications as notification_repo
from app.domain.access import RECIPIENT, SENDER
from app.domain.attachment_rules import data_type
from app.domain.correspondence import (
    AVAILABLE_FOR_RECIPIENT,
    AVAILABLE_FOR_SENDER,
    StatusEntry,
    current_status,
)
from app.domain.deliveries import status_details
from app.domain.enums import CorrespondenceStatus as S
from app.domain.errors import CorrespondenceError
from app.security.identity import Caller
from app.usecases.authorization import role_on_correspondence

REPLY_LABELS = {"en": "Reply options:", "nn": "Svarval:"}
PURGED = {S.PurgedByAltinn, S.PurgedByRecipient}
OVERVIEW_FETCH_DEBOUNCE = timedelta(seconds=15)


def get_overview(
    db: Database, caller: Caller, correspondence_id: uuid.UUID, only: str | None = None
) -> dict[str, Any]:
    """The overview in the role the caller's scopes allow (`only`: in that role or 404)."""
    with db.transaction() as conn:
        row, role = _load(conn, caller, correspondence_id, fetch_debounce=OVERVIEW_FETCH_DEBOUNCE, only=only)
    if any(s["status"] in PURGED for s in row["statuses"]):
        raise CorrespondenceError(1001)
    return _view(row, role)


def get_details(db: Database, caller: Caller, correspondence_id: uuid.UUID) -> dict[str, Any]:
    with db.transaction() as conn:
        row, role = _load(conn, caller, correspondence_id, fetch_debounce=None)
    view = _view(row, role)
    history = sorted(
        row["statuses"] + row["fetched"], key=lambda s: (s["status_changed"], s["status"], s["id"])
    )
    view["status_history"] = [
        {"status": s["status"], "status_text": s["status_text"], "status_changed": s["status_changed"]}
        for s in history
        if role == RECIPIENT or s["status"] in AVAILABLE_FOR_SENDER
    ]
    view["system_label"] = "Default"
    return view


def _load(
    conn: Any,
    caller: Caller,
    correspondence_id: uuid.UUID,
    fetch_debounce: timedelta | None,
    only: str | None = None,
) -> tuple[dict[str, Any], str]:
    row = correspondence_repo.get_correspondence(conn, correspondence_id)
    if row is None:
        raise CorrespondenceError(1001)
    role = role_on_correspondence(conn, caller, row, only)
    if role == RECIPIENT:
        current = current_status(
            [StatusEntry(s["status"], s["status_text"], s["status_changed"]) for s in row["statuses"]]
        )
        if current is None or current.status not in AVAILABLE_FOR_RECIPIENT:
            raise CorrespondenceError(1001)
        fetched = lifecycle_repo.add_fetched(
            conn, correspondence_id, caller.party_urn, datetime.now(UTC), debounce=fetch_debounce
        )
        if fetched is not None:
            row["fetched"].append(fetched)
    deliveries = delivery_repo.for_correspondences(conn, [correspondence_id])
    row["notifications"] = [
        {
            "notification_order_id": o["notification_order_id"],
            "order_id": o["id"],
            "is_reminder": o["is_reminder"],
            "status": o["status"],
            "notification_channel": o["notification_channel"],
            "addresses": o["addresses"],
            "notification_status_details": status_details(deliveries.get(o["id"], ())),
        }
        for o in notification_repo.orders_for(conn, [correspondence_id]).get(correspondence_id, [])
    ]
    return row, role


def _view(row: dict[str, Any], role: str) -> dict[str, Any]:
    entries = [StatusEntry(s["status"], s["status_text"], s["status_changed"]) for s in row["statuses"]]
    current = current_status(entries)
    if current is None:
        raise CorrespondenceError(1001)
    ever_published = any(e.status == S.Published for e in entries)
    reads = [e.status_changed for e in entries if e.status == S.Read]
    return {
        "correspondence_id": row["id"],
        "resource_id": row["resource_id"],
        "sender": row["sender"],
        "senders_reference": row["senders_reference"],
        "message_sender": row["message_sender"] or "",
        "recipient": row["recipient"],
        "content": _placeholder_content() if ever_published and role == SENDER else _content(row),
        "requested_publish_time": row["requested_publish_time"],
        "due_date_time": row["due_date_time"],
        "external_references": row["external_references"],
        "property_list": row["property_list"] or {},
        "reply_options": row["reply_options"],
        "notification": None,
        "ignore_reservation": bool(row["ignore_reservation"]),
        "is_confirmation_needed": row["is_confirmation_needed"],
        "is_confidential": row["is_confidential"],
        "allow_forwarding": row["allow_forwarding"],
        "created": row["created"],
        "status": current.status,
        "status_text": current.status_text,
        "status_changed": current.status_changed,
        "notifications": row.get("notifications", []),
        "altinn2_correspondence_id": row["altinn2_correspondence_id"],
        "published": row["published"],
        "read": min(reads) if reads else None,
    }


def _placeholder_content() -> dict[str, Any]:
    return {
        "language": "no",
        "message_title": "",
        "message_summary": "",
        "message_body": "",
        "attachments": [],
    }


def _content(row: dict[str, Any]) -> dict[str, Any]:
    body = row["message_body"]
    options = row["reply_options"]
    if len(options) > 3:
        label = REPLY_LABELS.get(row["language"].lower(), "Svarvalg:")
        lines = [f"{o['link_text']}: {o['link_url']}" for o in options]
        body = body + "\n\n" + label + "\n" + "\n".join(lines)
    return {
        "language": row["language"],
        "message_title": row["message_title"],
        "message_summary": row["message_summary"],
        "message_body": body,
        "attachments": [
            {
                "id": a["id"],
                "file_name": a["file_name"],
                "display_name": a["display_name"],
                "is_encrypted": a["is_encrypted"],
                "checksum": a["checksum"],
                "senders_reference": a["senders_reference"],
                "expiration_in_days": None,
                "data_location_type": a["data_location_type"],
                "created": a["created"],
                "status": a["status"],
                "status_text": a["status_text"],
                "status_changed": a["status_changed"],
                "data_type": data_type(a["file_name"]),
                "expiration_time": a["expiration_time"],
            }
            for a in row["attachments"]
        ],
    }
