"""The `Idempotency-Key` request header on Initialize (JSON and multipart): replayable retries.

key = claimed_key(db, retention, fingerprint)   # None without the header
if key is a stored result → answer it again; else process, and release the key if that fails.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import g, request
from werkzeug.exceptions import Conflict, UnprocessableEntity

from app.db.pool import Database
from app.domain.errors import ValidationProblem
from app.domain.idempotency import InvalidKey, KeyInFlight, KeyMismatch, parse_key
from app.usecases.replayable_requests import RequestKey, begin

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
    header = request.headers.get(HEADER)
    if header is None:
        return None, None
    try:
        value = parse_key(header)
    except InvalidKey as exc:
        raise ValidationProblem.single(HEADER, str(exc)) from None
    caller = g.caller
    key = RequestKey(caller.party_urn or caller.subject or "", value, fingerprint())
    try:
        return key, begin(db, key, retention)
    except KeyInFlight:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry later.") from None
    except KeyMismatch:
        raise UnprocessableEntity("This Idempotency-Key was used for a request with another body.") from None
