"""GET /correspondence/{id}/attachments/downloadall: every attachment as one zip (issue 26).

As Altinn's DownloadAllCorrespondenceAttachmentsHandler: only the recipient, only while the
correspondence is available to them, and only when every attachment can be downloaded (the single
download's checks for each). The zip's entries are stored, not compressed, so its exact length is
known before the first byte is sent; the bytes go from storage to the client chunk by chunk, never
held whole in memory nor written to disk. The download is recorded like a single one: one
AttachmentsDownloaded status ("All attachments downloaded") and the `attachmentdownloaded` event.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from zipstream import ZIP_STORED, ZipStream

from app.db.pool import Database
from app.db.repositories import download_all as repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.domain.enums import AttachmentStatus as A
from app.domain.enums import CorrespondenceStatus as S
from app.domain.errors import CorrespondenceError
from app.domain.zip_names import entry_names, zip_file_name
from app.security.identity import Caller
from app.storage import CHUNK_SIZE, AttachmentStorage
from app.usecases.download_correspondence_attachment import check_available_to_recipient

MAX_TOTAL_BYTES = 2_000_000_000  # Altinn's limit for the zip: 2 GB of attachments
STATUS_TEXT = "All attachments downloaded"


@dataclass
class ZipDownload:
    """The zip, ready to stream: iterate it once for its bytes, then close it (closes the files)."""

    file_name: str
    files: list[BinaryIO]
    stream: ZipStream = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.stream)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stream)

    def close(self) -> None:
        for file in self.files:
            file.close()


def _chunks(file: BinaryIO) -> Iterator[bytes]:
    """The file's bytes, chunk by chunk; closes it at the end (or when the stream is abandoned)."""
    try:
        while chunk := file.read(CHUNK_SIZE):
            yield chunk
    finally:
        file.close()


def _stored_size(file: BinaryIO, recorded: int) -> int:
    """The size of the stored bytes (the recorded size when the storage cannot tell)."""
    if not file.seekable():
        return recorded
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    return size


def download_all_attachments(
    db: Database,
    storage: AttachmentStorage,
    caller: Caller,
    correspondence_id: uuid.UUID,
    record: bool = True,
) -> ZipDownload:
    """Checks 1001 (missing, not the recipient, not available), 2001 (no attachments, one not
    uploaded or gone from storage), 2019, 2020, 4006, 2023.

    `record=False` (a HEAD request) checks and opens without writing AttachmentsDownloaded."""
    with db.transaction() as conn:
        corr = check_available_to_recipient(conn, caller, repo.correspondence(conn, correspondence_id))
        rows = repo.attachments(conn, correspondence_id)
        if not rows:
            raise CorrespondenceError(2001)
        now = datetime.now(UTC)
        for row in rows:
            if A.Purged in row["ever"]:
                raise CorrespondenceError(2019)
            if A.Expired in row["ever"] or (
                row["expiration_time"] is not None and row["expiration_time"] <= now
            ):
                raise CorrespondenceError(2020)
            if A.Published not in row["ever"]:
                raise CorrespondenceError(2001)  # not (successfully) uploaded
        if caller.party_urn is None:
            raise CorrespondenceError(4006)
        if sum(row["attachment_size"] for row in rows) > MAX_TOTAL_BYTES:
            raise CorrespondenceError(2023)
        download = _open_zip(storage, corr["message_title"], rows)
        try:
            if record:
                lifecycle_repo.add_statuses(
                    conn,
                    [(correspondence_id, int(S.AttachmentsDownloaded), STATUS_TEXT, now, caller.party_urn)],
                )
                lifecycle_repo.add_events(
                    conn, [("attachmentdownloaded", correspondence_id, corr["recipient"])]
                )
        except BaseException:
            download.close()
            raise
    return download


def _open_zip(storage: AttachmentStorage, title: str, rows: list[dict]) -> ZipDownload:
    """Open every stored file now (so a missing one is 2001 before any byte is sent) and queue it."""
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    files: list[BinaryIO] = []
    download = ZipDownload(zip_file_name(title), files, stream)
    try:
        for row, name in zip(rows, entry_names(row["file_name"] for row in rows), strict=True):
            try:
                file = storage.open(str(row["id"]))
            except FileNotFoundError:
                raise CorrespondenceError(2001) from None
            files.append(file)
            stream.add(_chunks(file), name, size=_stored_size(file, row["attachment_size"]))
    except BaseException:
        download.close()
        raise
    return download
