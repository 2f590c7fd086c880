"""Replayable retries of Initialize (the `Idempotency-Key` header): claim the key before the
request is processed, give back the stored result of a repeat, release the key when the request
fails. The result itself is stored by Initialize, in its own transaction (`complete_request`)."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import DictRow

from app.db.pool import Database
from app.db.repositories import idempotent_requests as repo
from app.domain.idempotency import (
    IN_FLIGHT,
    IN_FLIGHT_LEASE,
    KEY_LEASE_RENEW_EVERY,
    MISMATCH,
    PROCEED,
    KeyInFlight,
    KeyLost,
    KeyMismatch,
    decide,
)


@dataclass(frozen=True)
class RequestKey:
    sender: str
    key: str
    fingerprint: bytes
    # This request's token: the key's lease is renewed, released and completed only under it.
    owner: uuid.UUID = field(default_factory=uuid.uuid4)


def fingerprint_of_body(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


class FormFingerprint:
    """The fingerprint of a multipart request, taken as it is read: its text fields in order, then
    each file part (name, filename, bytes). `of_fields()` is the fingerprint so far (before the files)."""

    def __init__(self, fields: Iterable[tuple[str, str]]) -> None:
        self._digest = hashlib.sha256()
        for name, value in fields:
            self._digest.update(
                b"f\x00" + name.encode() + b"\x00" + value.encode("utf-8", "surrogatepass") + b"\x00"
            )
        self.of_fields = self._digest.digest()

    def part(self, name: str, file_name: str) -> None:
        self._digest.update(
            b"p\x00" + name.encode() + b"\x00" + file_name.encode("utf-8", "surrogatepass") + b"\x00"
        )

    def update(self, data: bytes) -> None:
        self._digest.update(data)

    def digest(self) -> bytes:
        return self._digest.digest()


@dataclass(frozen=True)
class StoredResult:
    """A completed request's result and the fingerprint of its whole body."""

    fingerprint: bytes
    result: dict[str, Any]


def begin(db: Database, key: RequestKey, retention: timedelta) -> dict[str, Any] | None:
    """None: process the request (the key is now in flight). A dict: the stored result of the first
    request with this key, to be answered again. Raises KeyInFlight or KeyMismatch."""
    stored = _begin(db, key, retention, body_checked_later=False)
    return stored.result if stored is not None else None


def begin_form(db: Database, key: RequestKey, retention: timedelta) -> StoredResult | None:
    """`begin` for a multipart request whose `key.fingerprint` covers its text fields only (its files
    are not read yet). A StoredResult: a completed request with this key, to be answered again if the
    whole body's fingerprint turns out equal to its `fingerprint` (else 422)."""
    return _begin(db, key, retention, body_checked_later=True)


def _begin(
    db: Database, key: RequestKey, retention: timedelta, *, body_checked_later: bool
) -> StoredResult | None:
    with db.transaction() as conn:
        stored = repo.claim(conn, key.sender, key.key, key.fingerprint, key.owner, IN_FLIGHT_LEASE)
        if stored is None:
            return None
        action = decide(
            stored, key.fingerprint, datetime.now(UTC), retention, body_checked_later=body_checked_later
        )
        if action == PROCEED:
            repo.restart(conn, key.sender, key.key, key.fingerprint, key.owner, IN_FLIGHT_LEASE)
            return None
        if action == MISMATCH:
            raise KeyMismatch()
        if action == IN_FLIGHT:
            raise KeyInFlight()
        return StoredResult(stored.fingerprint, repo.result_of(conn, key.sender, key.key))


def complete_request(conn: psycopg.Connection[DictRow], key: RequestKey, result: dict[str, Any]) -> None:
    """On the request's own transaction: the result that repeats will get. KeyLost when a retry took
    the key over meanwhile: the transaction must then store nothing (the retry stores it)."""
    if not repo.complete(conn, key.sender, key.key, key.owner, key.fingerprint, result):
        raise KeyLost()


def release(db: Database, key: RequestKey) -> None:
    with db.transaction() as conn:
        repo.release(conn, key.sender, key.key, key.owner)


class KeyLease:
    """Keeps a claimed key in flight while its request is still being processed: `keep()` at every
    step (each chunk of an upload) renews the lease once KEY_LEASE_RENEW_EVERY has passed; KeyLost
    when a retry took the key over (the lease passed without a renewal: the request stalled)."""

    def __init__(self, db: Database, key: RequestKey) -> None:
        self.db = db
        self.key = key
        self._due = time.monotonic() + KEY_LEASE_RENEW_EVERY.total_seconds()

    def keep(self, now: bool = False) -> None:
        if not now and time.monotonic() < self._due:
            return
        with self.db.transaction() as conn:
            held = repo.renew(conn, self.key.sender, self.key.key, self.key.owner, IN_FLIGHT_LEASE)
        if not held:
            raise KeyLost()
        self._due = time.monotonic() + KEY_LEASE_RENEW_EVERY.total_seconds()


def forget_expired(db: Database, retention: timedelta) -> int:
    with db.transaction() as conn:
        return repo.forget_older_than(conn, retention)
