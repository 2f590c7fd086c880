"""Replayable retries with the `Idempotency-Key` header (IETF httpapi idempotency-key draft). Pure.

A sender's first request with a key is processed and its result kept; a repeat with the same key
and the same body gets that result again and stores nothing; the same key with another body is 422;
a repeat while the first is still in flight is 409. A key whose first request never finished (a
crash) can be used again after `IN_FLIGHT_LEASE`; every key is forgotten after the retention time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_KEY_LENGTH = 255
# A request in flight holds its key this long after its claim or its last renewal: a multipart
# upload still being received renews it (KEY_LEASE_RENEW_EVERY); a request that died frees it then.
IN_FLIGHT_LEASE = timedelta(minutes=10)
KEY_LEASE_RENEW_EVERY = timedelta(minutes=1)

PROCEED, REPLAY, MISMATCH, IN_FLIGHT = "proceed", "replay", "mismatch", "in-flight"


class InvalidKey(ValueError):
    """The header is present but not a usable key."""


def parse_key(header: str) -> str:
    """The key of an `Idempotency-Key` header: a structured-field string (`"..."`) or, as many
    clients send it, the bare token; 1–255 printable ASCII characters."""
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not value or len(value) > MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in value):
        raise InvalidKey(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return value


@dataclass(frozen=True)
class StoredKey:
    fingerprint: bytes
    started: datetime
    completed: datetime | None
    lease_until: datetime | None = None  # None: claimed before leases (its lease counts from started)


def decide(
    stored: StoredKey,
    fingerprint: bytes,
    now: datetime,
    retention: timedelta,
    *,
    body_checked_later: bool = False,
) -> str:
    """What to do with a request whose key is already stored.

    `body_checked_later`: `fingerprint` covers only the part of the body read so far (a multipart
    request's text fields, before its files). It is compared with a request still in flight, whose
    stored fingerprint covers the same part; a completed request's covers the whole body, so REPLAY
    then means "replay if the whole body turns out the same", for the caller to check."""
    if now - stored.started > retention:
        return PROCEED  # forgotten: a new first request
    if body_checked_later and stored.completed is not None:
        return REPLAY
    if stored.fingerprint != fingerprint:
        return MISMATCH
    if stored.completed is not None:
        return REPLAY
    lease_until = stored.lease_until or stored.started + IN_FLIGHT_LEASE
    if now > lease_until:
        return PROCEED  # the first request died in flight (stopped renewing): this one takes the key over
    return IN_FLIGHT


class KeyInFlight(Exception):
    """409: the first request with this key is still being processed."""


class KeyMismatch(Exception):
    """422: this key was used for a request with another body."""


class KeyLost(Exception):
    """409: a retry took this request's key over after its lease passed; this request stores nothing."""
