"""POST /correspondence/upload: Initialize with new attachments sent as file parts (SPEC.md §3.3).

Nothing of a file is read before the caller is known to send for the resource: the handler reads the
form's text fields, then `MultipartInitialize.authorize` (1036, 4001, 4010, 4006, 1060, 1061, 1068)
and, once the Idempotency-Key is settled, `check_before_files` (every rule of the ladder before the
first that needs the files, steps 1–15). Then `receive_files` streams each file part straight to
storage, under the id its attachment will get, with its size and MD5 counted on the way: a part over
2 GB is 2004 at once; a part that can match no attachment entry (too many parts, or a file name no
entry has) is only counted, never written. `initialize` then runs the whole ladder with the real
sizes (1069, names, matching 1005, 2004, 2017, …), creates the attachment rows (Initialized →
UploadProcessing → Published, or Failed on a checksum mismatch 2008) and the correspondences. A
request refused anywhere leaves no stored bytes of a file that did not become a Published attachment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from app.db.pool import Database
from app.db.repositories import shared_attachments as repo
from app.domain import initialize as rules
from app.domain.attachment_rules import (
    MULTIPART_MAX_FILE_BYTES,
    check_expiration,
    check_file_name,
    check_file_size,
    match_files,
)
from app.domain.ids import uuid7
from app.domain.initialize import InitializeFacts
from app.domain.registry import Resource
from app.security.identity import Caller
from app.storage import AttachmentStorage
from app.usecases.initialize_attachment import new_attachment_row
from app.usecases.initialize_correspondences import (
    InitializeOptions,
    InitializeResult,
    NewAttachment,
    initialize_correspondences,
    load_facts,
)
from app.usecases.upload_attachment import ReceivedBytes, publish_received, save_metered, start_upload


class FilePartSource(Protocol):
    """One file part as it arrives: its filename, then its bytes."""

    @property
    def filename(self) -> str: ...

    @property
    def chunks(self) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class ReceivedFile:
    """One file part as received: its filename, size and MD5, and the attachment id its bytes are
    stored under (None: not stored, it cannot match an attachment entry)."""

    file_name: str
    bytes: ReceivedBytes
    attachment_id: uuid.UUID | None

    @property
    def size(self) -> int:
        return self.bytes.size


class MultipartInitialize:
    """One multipart Initialize, checked in steps as its body arrives."""

    def __init__(
        self,
        db: Database,
        storage: AttachmentStorage,
        caller: Caller,
        request: dict[str, Any],
        options: InitializeOptions,
        *,
        production: bool,
    ) -> None:
        self.db = db
        self.storage = storage
        self.caller = caller
        self.request = request
        self.options = options
        self.production = production
        self.entries: list[dict[str, Any]] = request["correspondence"]["content"].get("attachments") or []
        self._facts: InitializeFacts | None = None

    def authorize(self) -> None:
        """Before anything else of the body is read: the resource exists (1036), the caller sends for
        its owner (4001), it takes correspondences (4010), the caller has a party (4006); and the
        request's flags suit it (1060, 1061, 1068)."""
        with self.db.statements() as conn:
            self._facts = load_facts(conn, self.caller, self.request, self.options, None)
        rules.check_resource(self._facts, self.request["correspondence"])

    def check_before_files(self) -> None:
        """Steps 1–15 of the ladder, in its order (SPEC.md §4.1), before any file byte is read."""
        assert self._facts is not None, "authorize() first"
        rules.check_before_files(self.request, self._facts)

    def receive_files(self, parts: Iterable[FilePartSource]) -> list[ReceivedFile]:
        """Stream each file part to storage (or only count it, when it can match no entry)."""
        names = {entry.get("file_name") for entry in self.entries}
        received: list[ReceivedFile] = []
        try:
            for index, part in enumerate(parts):
                attachment_id = uuid7() if index < len(self.entries) and part.filename in names else None
                key = str(attachment_id) if attachment_id is not None else None
                received.append(
                    ReceivedFile(
                        part.filename,
                        save_metered(self.storage, key, part.chunks, MULTIPART_MAX_FILE_BYTES),
                        attachment_id,
                    )
                )
        except BaseException:
            discard(self.storage, received)
            raise
        return received

    def initialize(self, files: list[ReceivedFile]) -> InitializeResult:
        """The whole ladder with the files' real sizes, then the attachments and correspondences."""
        uploads = _Uploads(self.db, self.storage, self.caller, files, self.production)
        try:
            return initialize_correspondences(
                self.db, self.caller, self.request, self.options, uploads=uploads
            )
        finally:
            discard(self.storage, [f for f in files if f.attachment_id not in uploads.kept])


def discard(storage: AttachmentStorage, files: Iterable[ReceivedFile]) -> None:
    for received in files:
        if received.attachment_id is not None:
            storage.delete(str(received.attachment_id))


class _Uploads:
    def __init__(
        self,
        db: Database,
        storage: AttachmentStorage,
        caller: Caller,
        files: list[ReceivedFile],
        production: bool,
    ) -> None:
        self.db = db
        self.storage = storage
        self.party_urn = caller.party_urn
        self.files = files
        self.production = production
        self.order: list[int] = []  # file part of each attachment entry
        self.kept: set[uuid.UUID] = set()  # stored files that became attachments (Published)

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
        matched = [self.files[index] for index in self.order]  # validate() matched these entries
        rows = []
        for entry, received in zip(entries, matched, strict=True):
            assert received.attachment_id is not None  # a part that matches an entry was stored
            rows.append(new_attachment_row(entry, resource, now, attachment_id=received.attachment_id))
        if rows:
            with self.db.transaction() as conn:
                repo.insert_attachments(conn, rows, self.party_urn)
        for row, received in zip(rows, matched, strict=True):
            start_upload(self.db, row.id, self.party_urn)
            publish_received(self.db, self.storage, row.id, row.checksum, received.bytes, self.party_urn)
            self.kept.add(row.id)
        return [NewAttachment(row.id, row.expiration_in_days, published=True) for row in rows]
