"""The `Idempotency-Key` request header on Initialize (JSON and multipart): replayable retries.

key = claimed_key(db, retention, fingerprint)   # None without the header
if key is a stored result → answer it again; else process, and release the key if that fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import g, request
from werkzeug.exceptions import Conflict, UnprocessableEntity

from app.db.pool import Database
from app.domain.errors import ValidationProblem
from app.domain.idempotency import InvalidKey, KeyInFlight, KeyMismatch, parse_key
from app.usecases.replayable_requests import RequestKey, StoredResult, begin, begin_form

HEADER = "Idempotency-Key"
# The header as the OpenAPI states it (a bare token; the quoted structured-field form is accepted too).
PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "Replayable retries: a repeat with the same key and body answers the first result "
    "(Idempotent-Replayed: true) and stores nothing; another body is 422; in flight 409. "
    'A bare token or a structured-field string ("…"), 1–255 printable ASCII characters.',
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": r"^[!#-~]([ !#-~]{0,253}[!#-~])?$",
    },
}


def claimed_key(
    db: Database, retention: timedelta, fingerprint: Callable[[], bytes]
) -> tuple[RequestKey | None, dict[str, Any] | None]:
    """(the claimed key, None) to process the request; (key, stored result) to answer a repeat;
    (None, None) without the header. 409 while the first request is in flight, 422 for another body."""
    value = header_key()
    if value is None:
        return None, None
    key = RequestKey(_sender(), value, fingerprint())
    with _answered():
        return key, begin(db, key, retention)


def claimed_form_key(
    db: Database, retention: timedelta, fields_fingerprint: bytes
) -> tuple[RequestKey, StoredResult | None]:
    """`claimed_key` for a multipart request whose files are not read yet: the key is claimed with the
    fingerprint of the text fields; a StoredResult is a completed request to replay if the whole body
    is the same (the caller checks it). Call only when `header_key()` is not None."""
    value = header_key()
    assert value is not None
    key = RequestKey(_sender(), value, fields_fingerprint)
    with _answered():
        return key, begin_form(db, key, retention)


def header_key() -> str | None:
    """The request's Idempotency-Key (None without the header); a validation problem when unusable."""
    header = request.headers.get(HEADER)
    if header is None:
        return None
    try:
        return parse_key(header)
    except InvalidKey as exc:
        raise ValidationProblem.single(HEADER, str(exc)) from None


def _sender() -> str:
    caller = g.caller
    return caller.party_urn or caller.subject or ""


@contextmanager
def _answered() -> Iterator[None]:
    try:
        yield
    except KeyInFlight:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry later.") from None
    except KeyMismatch:
        raise UnprocessableEntity("This Idempotency-Key was used for a request with another body.") from None
