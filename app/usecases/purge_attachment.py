"""DELETE /attachment/{id}: the sender removes a shared attachment that nothing uses (SPEC.md §3.11)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.db.pool import Database
from app.db.repositories import shared_attachments as repo
from app.domain.enums import AttachmentStatus as A
from app.domain.errors import CorrespondenceError
from app.security.identity import Caller
from app.storage import AttachmentStorage
from app.usecases.get_attachment import load_for_sender

PURGED_TEXT = "Attachment has been purged"


def purge_attachment(
    db: Database, storage: AttachmentStorage, caller: Caller, attachment_id: uuid.UUID
) -> None:
    """Checks 2001, 4001, 2006, 2018, 2007, 4006; writes Purged, then deletes the stored bytes."""
    with db.transaction() as conn:
        row = load_for_sender(conn, caller, attachment_id, lock=True)
        if A.Purged in row["ever"]:
            raise CorrespondenceError(2006)
        if A.Expired in row["ever"]:
            raise CorrespondenceError(2018)
        if repo.correspondence_ids(conn, attachment_id):
            raise CorrespondenceError(2007)
        if caller.party_urn is None:
            raise CorrespondenceError(4006)
        repo.add_status(conn, attachment_id, A.Purged, PURGED_TEXT, datetime.now(UTC), caller.party_urn)
    storage.delete(str(attachment_id))
