"""POST /attachment/{id}/upload, and the streaming step shared with the multipart Initialize (SPEC.md §1.4, §3.11).

Status history of one upload: UploadProcessing (before any byte is stored), then Published (no
malware scanner here), or Failed with the reason. Bytes go straight from the request stream to
storage in chunks while the MD5 is computed; no database connection is held while they flow.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from app.db.pool import Database
from app.db.repositories import shared_attachments as repo
from app.domain.attachment_rules import STREAM_MAX_FILE_BYTES, check_file_size
from app.domain.enums import AttachmentStatus as A
from app.domain.errors import CorrespondenceError
from app.security.identity import Caller
from app.storage import AttachmentStorage, iter_chunks
from app.usecases.get_attachment import get_attachment_overview, load_for_sender

log = logging.getLogger(__name__)

INTERRUPTED = "Upload interrupted"
TIMED_OUT = "Upload request timed out due to data arriving too slowly"
CHECKSUM_MISMATCH = "Checksum mismatch"
UPLOAD_FAILED = "Upload failed"


class UploadInterrupted(Exception):
    """The request body ended or broke before all of it arrived (client gone)."""


class SourceRefused(Exception):
    """Raised by the source of the bytes itself (a limit of the request it reads): passed on as it is,
    not taken for a client that went away."""


@dataclass(frozen=True)
class ReceivedBytes:
    """Bytes that went through a meter: how many, their MD5, and where they were stored (if they were)."""

    size: int
    md5: str
    location: str | None


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


def upload_attachment(
    db: Database,
    storage: AttachmentStorage,
    caller: Caller,
    attachment_id: uuid.UUID,
    body: IO[bytes],
    content_length: int | None,
) -> dict[str, Any]:
    """Checks 2001, 4001, 2004, 2005, 2006, 2003, 4006; then stores the body (2022, 2004, 2002, 2008)."""
    chunks = iter_chunks(body)
    if content_length is None:  # chunked or unannounced: an empty body is still 2004, before anything starts
        try:
            first = next(chunks, b"")
        except Exception as exc:
            if _timed_out(exc):
                raise CorrespondenceError(2022) from None
            raise UploadInterrupted(str(exc)) from exc
        content_length = 0 if not first else None
        chunks = itertools.chain([first], chunks)
    with db.transaction() as conn:
        row = load_for_sender(conn, caller, attachment_id, lock=True)  # one upload at a time
        if content_length is not None:
            check_file_size(content_length, STREAM_MAX_FILE_BYTES)
        if A.UploadProcessing in row["ever"]:
            raise CorrespondenceError(2005)
        if A.Purged in row["ever"]:
            raise CorrespondenceError(2006)
        if repo.correspondence_ids(conn, attachment_id):
            raise CorrespondenceError(2003)
        if caller.party_urn is None:
            raise CorrespondenceError(4006)
        repo.add_status(
            conn, attachment_id, A.UploadProcessing, A.UploadProcessing.name, _now(), caller.party_urn
        )
    receive(
        db,
        storage,
        attachment_id,
        row["checksum"],
        chunks,
        STREAM_MAX_FILE_BYTES,
        caller.party_urn,
        expected_size=content_length,
    )
    return get_attachment_overview(db, caller, attachment_id)


def start_upload(db: Database, attachment_id: uuid.UUID, party_urn: str | None) -> None:
    """UploadProcessing for an attachment nobody else knows yet (multipart Initialize)."""
    with db.transaction() as conn:
        repo.add_status(conn, attachment_id, A.UploadProcessing, A.UploadProcessing.name, _now(), party_urn)


def receive(
    db: Database,
    storage: AttachmentStorage,
    attachment_id: uuid.UUID,
    expected_checksum: str | None,
    chunks: Iterable[bytes],
    limit: int,
    party_urn: str | None,
    expected_size: int | None = None,
) -> None:
    """Stream `chunks` into storage, check size and checksum, then mark the attachment Published.

    `expected_size` (the Content-Length) must arrive in full: servers that terminate the input
    stream themselves (gunicorn) just end it early when the client goes away.
    Every failure leaves the attachment Failed (with the reason) and no stored bytes.
    """
    meter = _Meter(limit, expected_size)
    key = str(attachment_id)
    try:
        location = storage.save(key, meter.count(chunks))
    except UploadInterrupted:
        _fail(db, attachment_id, INTERRUPTED, party_urn)
        raise
    except _TooSlow:
        _fail(db, attachment_id, TIMED_OUT, party_urn)
        raise CorrespondenceError(2022) from None
    except _TooLarge:
        _fail(db, attachment_id, UPLOAD_FAILED, party_urn)
        check_file_size(meter.size, limit)
        raise
    except OSError:
        log.exception("storing attachment %s failed", attachment_id)
        _fail(db, attachment_id, UPLOAD_FAILED, party_urn)
        raise CorrespondenceError(2002) from None
    if meter.size == 0:
        storage.delete(key)
        _fail(db, attachment_id, UPLOAD_FAILED, party_urn)
        check_file_size(0, limit)
    publish_received(
        db,
        storage,
        attachment_id,
        expected_checksum,
        ReceivedBytes(meter.size, meter.md5.hexdigest(), location),
        party_urn,
    )


def save_metered(
    storage: AttachmentStorage, key: str | None, chunks: Iterable[bytes], limit: int
) -> ReceivedBytes:
    """Stream `chunks` into storage under `key` (None: only count and hash them), for an attachment
    row that does not exist yet (multipart Initialize). Past `limit` bytes 2004 at once, data too slow
    2022, the storage failing 2002, the source breaking off UploadInterrupted; nothing stays stored."""
    meter = _Meter(limit)
    try:
        if key is None:
            for _ in meter.count(chunks):
                pass
            location = None
        else:
            location = storage.save(key, meter.count(chunks))
    except _TooSlow:
        raise CorrespondenceError(2022) from None
    except _TooLarge:
        check_file_size(meter.size, limit)
        raise
    except OSError:
        log.exception("storing a file of a multipart Initialize failed")
        raise CorrespondenceError(2002) from None
    return ReceivedBytes(meter.size, meter.md5.hexdigest(), location)


def publish_received(
    db: Database,
    storage: AttachmentStorage,
    attachment_id: uuid.UUID,
    expected_checksum: str | None,
    received: ReceivedBytes,
    party_urn: str | None,
) -> None:
    """The bytes are stored: check the checksum (2008: Failed, bytes removed), then Published."""
    key = str(attachment_id)
    assert received.location is not None, "the bytes were stored"
    if expected_checksum and expected_checksum.strip() and expected_checksum.strip().lower() != received.md5:
        storage.delete(key)
        _fail(db, attachment_id, CHECKSUM_MISMATCH, party_urn)
        raise CorrespondenceError(2008)
    with db.transaction() as conn:
        row = repo.get_attachment(conn, attachment_id, lock=True)
        if row is None or row["status"] != A.UploadProcessing:  # purged while the bytes were arriving
            storage.delete(key)
            raise CorrespondenceError(2006 if row is not None and A.Purged in row["ever"] else 2001)
        repo.set_uploaded(conn, attachment_id, received.size, received.md5, received.location)
        repo.add_status(conn, attachment_id, A.Published, A.Published.name, _now(), party_urn)


class _Meter:
    """Counts and hashes the bytes as they pass; tells source failures apart from storage failures."""

    def __init__(self, limit: int, expected_size: int | None = None) -> None:
        self.limit = limit
        self.expected_size = expected_size
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)

    def count(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        source = iter(chunks)
        while True:
            try:
                chunk = next(source)
            except StopIteration:
                if self.expected_size is not None and self.size != self.expected_size:
                    raise UploadInterrupted(f"{self.size} of {self.expected_size} bytes arrived") from None
                return
            except SourceRefused:
                raise
            except Exception as exc:  # werkzeug ClientDisconnected, connection reset, read timeout
                if _timed_out(exc):  # the client sends too slowly
                    raise _TooSlow() from exc
                raise UploadInterrupted(str(exc) or exc.__class__.__name__) from exc
            self.size += len(chunk)
            if self.size > self.limit:
                raise _TooLarge()
            self.md5.update(chunk)
            yield chunk


def _timed_out(exc: BaseException | None) -> bool:
    """A socket read timeout, possibly wrapped (werkzeug turns read errors into ClientDisconnected)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, TimeoutError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _fail(db: Database, attachment_id: uuid.UUID, reason: str, party_urn: str | None) -> None:
    with db.transaction() as conn:
        repo.add_status(conn, attachment_id, A.Failed, reason, _now(), party_urn)


def _now() -> datetime:
    return datetime.now(UTC)
