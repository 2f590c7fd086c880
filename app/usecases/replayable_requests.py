"""Replayable retries of Initialize (the `Idempotency-Key` header): claim the key before the
request is processed, give back the stored result of a repeat, release the key when the request
fails. The result itself is stored by Initialize, in its own transaction (`complete_request`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import psycopg
from psycopg.rows import DictRow

from app.db.pool import Database
from app.db.repositories import idempotent_requests as repo
from app.domain.idempotency import IN_FLIGHT, MISMATCH, PROCEED, KeyInFlight, KeyMismatch, decide


@dataclass(frozen=True)
class RequestKey:
    sender: str
    key: str
    fingerprint: bytes


def fingerprint_of_body(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


def fingerprint_of_form(
    fields: Iterable[tuple[str, str]], files: Iterable[tuple[str, str, BinaryIO]]
) -> bytes:
    """A multipart request: its text fields in order, then each file part (name, filename, bytes)."""
    digest = hashlib.sha256()
    for name, value in fields:
        digest.update(b"f\x00" + name.encode() + b"\x00" + value.encode("utf-8", "surrogatepass") + b"\x00")
    for name, file_name, stream in files:
        digest.update(
            b"p\x00" + name.encode() + b"\x00" + file_name.encode("utf-8", "surrogatepass") + b"\x00"
        )
        stream.seek(0)
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
        stream.seek(0)
    return digest.digest()


def begin(db: Database, key: RequestKey, retention: timedelta) -> dict[str, Any] | None:
    """None: process the request (the key is now in flight). A dict: the stored result of the first
    request with this key, to be answered again. Raises KeyInFlight or KeyMismatch."""
    with db.transaction() as conn:
        stored = repo.claim(conn, key.sender, key.key, key.fingerprint)
        if stored is None:
            return None
        action = decide(stored, key.fingerprint, datetime.now(UTC), retention)
        if action == PROCEED:
            repo.restart(conn, key.sender, key.key, key.fingerprint)
            return None
        if action == MISMATCH:
            raise KeyMismatch()
        if action == IN_FLIGHT:
            raise KeyInFlight()
        return repo.result_of(conn, key.sender, key.key)


def complete_request(conn: psycopg.Connection[DictRow], key: RequestKey, result: dict[str, Any]) -> None:
    """On the request's own transaction: the result that repeats will get."""
    repo.complete(conn, key.sender, key.key, result)


def release(db: Database, key: RequestKey) -> None:
    with db.transaction() as conn:
        repo.release(conn, key.sender, key.key)


def forget_expired(db: Database, retention: timedelta) -> int:
    with db.transaction() as conn:
        return repo.forget_older_than(conn, retention)
