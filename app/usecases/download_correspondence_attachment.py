"""GET /correspondence/{id}/attachment/{attachmentId}/download: the recipient downloads (SPEC.md §3.9).

Every download writes an AttachmentsDownloaded status (and the `attachmentdownloaded` event).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from app.db.pool import Database
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.db.repositories import shared_attachments as repo
from app.domain.access import RECIPIENT
from app.domain.correspondence import AVAILABLE_FOR_RECIPIENT
from app.domain.enums import AttachmentStatus as A
from app.domain.enums import CorrespondenceStatus as S
from app.domain.errors import CorrespondenceError
from app.security.identity import Caller
from app.storage import AttachmentStorage
from app.usecases.authorization import role_on_correspondence
from app.usecases.download_attachment import DownloadedFile, open_stored

PURGED = frozenset({S.PurgedByAltinn, S.PurgedByRecipient})


def check_available_to_recipient(conn: Any, caller: Caller, corr: dict[str, Any] | None) -> dict[str, Any]:
    """404/1001 unless the correspondence (a row with id, sender, recipient, resource_id) exists, the
    caller may act as its recipient, and it is available to the recipient (not purged)."""
    if corr is None:
        raise CorrespondenceError(1001)
    role_on_correspondence(conn, caller, corr, only=RECIPIENT)
    statuses = correspondence_repo.status_sets(conn, [corr["id"]]).get(corr["id"], set())
    if statuses & PURGED or max(statuses, default=None) not in AVAILABLE_FOR_RECIPIENT:
        raise CorrespondenceError(1001)
    return corr


def download_correspondence_attachment(
    db: Database,
    storage: AttachmentStorage,
    caller: Caller,
    correspondence_id: uuid.UUID,
    attachment_id: uuid.UUID,
    record: bool = True,
) -> DownloadedFile:
    """Checks 1001 (missing, not the recipient, not available), 2001, 2019, 2020, 4006.

    `record=False` (a HEAD request) checks and opens without writing AttachmentsDownloaded."""
    with db.transaction() as conn:
        corr = check_available_to_recipient(
            conn, caller, repo.correspondence_parties(conn, correspondence_id)
        )
        link = repo.correspondence_link(conn, correspondence_id, attachment_id)
        row = repo.get_attachment(conn, attachment_id) if link is not None else None
        if link is None or row is None:
            raise CorrespondenceError(2001)
        now = datetime.now(UTC)
        if A.Purged in row["ever"]:
            raise CorrespondenceError(2019)
        if A.Expired in row["ever"] or (
            link["expiration_time"] is not None and link["expiration_time"] <= now
        ):
            raise CorrespondenceError(2020)
        if caller.party_urn is None:
            raise CorrespondenceError(4006)
        downloaded = open_stored(storage, attachment_id, row)
        try:
            if not record:
                return downloaded
            lifecycle_repo.add_statuses(
                conn,
                [
                    (
                        correspondence_id,
                        int(S.AttachmentsDownloaded),
                        f"Attachment {attachment_id} has been downloaded",
                        now,
                        caller.party_urn,
                    )
                ],
            )
            lifecycle_repo.add_events(conn, [("attachmentdownloaded", correspondence_id, corr["recipient"])])
        except BaseException:
            downloaded.file.close()
            raise
    return downloaded
