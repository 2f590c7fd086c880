"""Recipient actions: mark as read, confirm (SPEC.md §3.7), and purge by sender or recipient (§3.8)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from app.db.pool import Database
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.domain.correspondence import AVAILABLE_FOR_RECIPIENT, PURGEABLE_BY_SENDER, highest_status
from app.domain.enums import CorrespondenceStatus as S
from app.domain.errors import CorrespondenceError
from app.security.identity import Caller
from app.storage import AttachmentStorage
from app.usecases.authorization import role_on_correspondence
from app.usecases.get_correspondence import RECIPIENT, SENDER

PURGED = {S.PurgedByAltinn, S.PurgedByRecipient}


def _as_recipient(conn: Any, caller: Caller, correspondence_id: uuid.UUID) -> tuple[dict[str, Any], set[int]]:
    row = lifecycle_repo.lock_correspondence(conn, correspondence_id)
    if row is None:
        raise CorrespondenceError(1001)
    role_on_correspondence(conn, caller, row, only=RECIPIENT)
    statuses = correspondence_repo.status_sets(conn, [correspondence_id]).get(correspondence_id, set())
    if statuses & PURGED or highest_status(statuses) not in AVAILABLE_FOR_RECIPIENT:
        raise CorrespondenceError(1001)
    return row, statuses


def mark_as_read(db: Database, caller: Caller, correspondence_id: uuid.UUID) -> uuid.UUID:
    return _recipient_status(
        db,
        caller,
        correspondence_id,
        S.Read,
        not_fetched=1024,
        already=1040,
        event="correspondencereceiverread",
    )


def confirm(db: Database, caller: Caller, correspondence_id: uuid.UUID) -> uuid.UUID:
    return _recipient_status(
        db,
        caller,
        correspondence_id,
        S.Confirmed,
        not_fetched=1025,
        already=1041,
        event="correspondencereceiverconfirmed",
    )


def _recipient_status(
    db: Database,
    caller: Caller,
    correspondence_id: uuid.UUID,
    status: S,
    *,
    not_fetched: int,
    already: int,
    event: str,
) -> uuid.UUID:
    with db.transaction() as conn:
        row, statuses = _as_recipient(conn, caller, correspondence_id)
        if not lifecycle_repo.ever_fetched(conn, correspondence_id):
            raise CorrespondenceError(not_fetched)
        if status in statuses:
            raise CorrespondenceError(already)
        now = datetime.now(UTC)
        lifecycle_repo.add_statuses(
            conn, [(correspondence_id, int(status), status.name, now, caller.party_urn)]
        )
        lifecycle_repo.add_events(conn, [(event, correspondence_id, row["recipient"])])
    return correspondence_id


def purge(
    db: Database, caller: Caller, correspondence_id: uuid.UUID, storage: AttachmentStorage | None = None
) -> uuid.UUID:
    """Purge as sender or recipient; attachments no other live correspondence uses are purged too,
    and their files deleted (after commit, so a rollback never loses a file still referenced)."""
    with db.transaction() as conn:
        row = lifecycle_repo.lock_correspondence(conn, correspondence_id)
        if row is None:
            raise CorrespondenceError(1001)
        role = role_on_correspondence(conn, caller, row)
        statuses = correspondence_repo.status_sets(conn, [correspondence_id]).get(correspondence_id, set())
        if statuses & PURGED:
            raise CorrespondenceError(1014)
        highest = highest_status(statuses)
        if role == SENDER:
            if highest not in PURGEABLE_BY_SENDER:
                raise CorrespondenceError(1013)
            status = S.PurgedByAltinn
        else:
            if highest not in AVAILABLE_FOR_RECIPIENT:
                raise CorrespondenceError(1001)
            if row["is_confirmation_needed"] and S.Confirmed not in statuses:
                raise CorrespondenceError(1026)
            status = S.PurgedByRecipient
        now = datetime.now(UTC)
        lifecycle_repo.add_statuses(
            conn, [(correspondence_id, int(status), status.name, now, caller.party_urn)]
        )
        # Its publish job, shared with the other recipients, finds it purged and leaves it be.
        unused = lifecycle_repo.unused_attachment_ids(conn, correspondence_id)
        lifecycle_repo.purge_attachments(conn, unused, caller.party_urn, now)
        lifecycle_repo.add_events(conn, [("correspondencepurged", correspondence_id, row["recipient"])])
    if storage is not None:
        for attachment_id in unused:
            storage.delete(str(attachment_id))
    return correspondence_id
