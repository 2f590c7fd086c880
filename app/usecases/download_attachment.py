"""GET /attachment/{id}/download: the sender reads back a shared attachment (SPEC.md §3.11)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import BinaryIO

from app.db.pool import Database
from app.db.repositories import shared_attachments as repo
from app.domain.enums import AttachmentStatus as A
from app.domain.errors import CorrespondenceError
from app.security.identity import Caller
from app.storage import AttachmentStorage
from app.usecases.get_attachment import load_for_sender


@dataclass
class DownloadedFile:
    """An open stored file; the caller streams it and closes it."""

    file: BinaryIO
    size: int
    file_name: str


def open_stored(storage: AttachmentStorage, attachment_id: uuid.UUID, row: dict) -> DownloadedFile:
    """The stored bytes of an uploaded attachment; 404/2001 when there are none."""
    if A.Published not in row["ever"]:
        raise CorrespondenceError(2001)  # nothing was (successfully) uploaded
    try:
        handle = storage.open(str(attachment_id))
    except FileNotFoundError:
        raise CorrespondenceError(2001) from None
    return DownloadedFile(handle, row["attachment_size"], row["file_name"])


def download_attachment(
    db: Database, storage: AttachmentStorage, caller: Caller, attachment_id: uuid.UUID
) -> DownloadedFile:
    """Checks 2001, 4001, 2019, 2020, 2016."""
    with db.transaction() as conn:
        row = load_for_sender(conn, caller, attachment_id)
        if A.Purged in row["ever"]:
            raise CorrespondenceError(2019)
        if A.Expired in row["ever"]:
            raise CorrespondenceError(2020)
        if repo.linked_to_published(conn, attachment_id):
            raise CorrespondenceError(2016)
    return open_stored(storage, attachment_id, row)
