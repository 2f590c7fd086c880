"""POST /correspondence/upload: Initialize with new attachments sent as file parts (SPEC.md §3.3).

The Initialize rules run in their usual order (`initialize_correspondences`); this module adds what
the files need: their rules at steps 16–18 (1069 with real sizes, file names, file ↔ metadata
matching 1005, sizes 2004, expiration 2017) and, at step 22, creating each attachment row and
streaming its file to storage (UploadProcessing → Published, or Failed). A failing upload leaves
the attachment rows behind and creates no correspondence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from app.db.pool import Database
from app.db.repositories import shared_attachments as repo
from app.domain.attachment_rules import (
    MULTIPART_MAX_FILE_BYTES,
    check_expiration,
    check_file_name,
    check_file_size,
    match_files,
)
from app.domain.registry import Resource
from app.security.identity import Caller
from app.storage import AttachmentStorage, iter_chunks
from app.usecases.initialize_attachment import new_attachment_row
from app.usecases.initialize_correspondences import (
    InitializeOptions,
    InitializeResult,
    NewAttachment,
    initialize_correspondences,
)
from app.usecases.upload_attachment import receive, start_upload


@dataclass(frozen=True)
class IncomingFile:
    """One file part: its filename, its size, and a seekable stream of its bytes."""

    file_name: str
    size: int
    stream: IO[bytes]


def initialize_with_upload(
    db: Database,
    storage: AttachmentStorage,
    caller: Caller,
    request: dict[str, Any],
    files: list[IncomingFile],
    options: InitializeOptions,
    *,
    production: bool,
) -> InitializeResult:
    uploads = _Uploads(db, storage, caller, files, production)
    return initialize_correspondences(db, caller, request, options, uploads=uploads)


class _Uploads:
    def __init__(
        self,
        db: Database,
        storage: AttachmentStorage,
        caller: Caller,
        files: list[IncomingFile],
        production: bool,
    ) -> None:
        self.db = db
        self.storage = storage
        self.party_urn = caller.party_urn
        self.files = files
        self.production = production
        self.order: list[int] = []  # file part of each attachment entry

    def sizes(self) -> list[int]:
        return [f.size for f in self.files]

    def validate(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            check_file_name(entry.get("file_name"))
        self.order = match_files([e.get("file_name") for e in entries], [f.file_name for f in self.files])
        for index in self.order:
            check_file_size(self.files[index].size, MULTIPART_MAX_FILE_BYTES)
        for entry in entries:
            check_expiration(entry.get("expiration_in_days"), self.production)

    def store(self, entries: list[dict[str, Any]], resource: Resource) -> list[NewAttachment]:
        now = datetime.now(UTC)
        rows = [new_attachment_row(entry, resource, now) for entry in entries]
        if rows:
            with self.db.transaction() as conn:
                repo.insert_attachments(conn, rows, self.party_urn)
        for row, index in zip(rows, self.order, strict=True):  # validate() matched these entries
            incoming = self.files[index]
            incoming.stream.seek(0)
            start_upload(self.db, row.id, self.party_urn)
            receive(
                self.db,
                self.storage,
                row.id,
                row.checksum,
                iter_chunks(incoming.stream),
                MULTIPART_MAX_FILE_BYTES,
                self.party_urn,
                expected_size=incoming.size,
            )
        return [NewAttachment(row.id, row.expiration_in_days, published=True) for row in rows]
