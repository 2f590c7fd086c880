"""The `request_idempotency` table: keys of replayable Initialize requests, per sender."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from app.domain.idempotency import StoredKey


def claim(
    conn: psycopg.Connection[DictRow],
    sender: str,
    key: str,
    fingerprint: bytes,
    owner: uuid.UUID,
    lease: timedelta,
) -> StoredKey | None:
    """Store the key as in flight, leased to `owner`, and return None; or (locked) the row another
    request stored."""
    while True:
        inserted = conn.execute(
            """INSERT INTO request_idempotency (sender, key, fingerprint, owner, lease_until)
               VALUES (%s, %s, %s, %s, now() + %s)
               ON CONFLICT (sender, key) DO NOTHING RETURNING 1""",
            (sender, key, fingerprint, owner, lease),
        ).fetchone()
        if inserted:
            return None
        row = conn.execute(
            "SELECT fingerprint, started, completed, lease_until FROM request_idempotency "
            "WHERE sender = %s AND key = %s FOR UPDATE",
            (sender, key),
        ).fetchone()
        if row is not None:
            return StoredKey(bytes(row["fingerprint"]), row["started"], row["completed"], row["lease_until"])
        # Gone between the two statements (the other request failed and released it, or it was
        # forgotten): claim it again.


def restart(
    conn: psycopg.Connection[DictRow],
    sender: str,
    key: str,
    fingerprint: bytes,
    owner: uuid.UUID,
    lease: timedelta,
) -> None:
    """A forgotten or abandoned key begins again as in flight, leased to `owner`."""
    conn.execute(
        """UPDATE request_idempotency SET fingerprint = %s, started = now(), completed = NULL, result = NULL,
                                          owner = %s, lease_until = now() + %s
                    WHERE sender = %s AND key = %s""",
        (fingerprint, owner, lease, sender, key),
    )


def renew(
    conn: psycopg.Connection[DictRow], sender: str, key: str, owner: uuid.UUID, lease: timedelta
) -> bool:
    """Extend the lease of a key still in flight and still `owner`'s; False when it is not (taken over)."""
    return (
        conn.execute(
            """UPDATE request_idempotency SET lease_until = now() + %s
               WHERE sender = %s AND key = %s AND owner = %s AND completed IS NULL RETURNING 1""",
            (lease, sender, key, owner),
        ).fetchone()
        is not None
    )


def result_of(conn: psycopg.Connection[DictRow], sender: str, key: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT result FROM request_idempotency WHERE sender = %s AND key = %s", (sender, key)
    ).fetchone()
    assert row is not None  # asked for a key this transaction holds
    return row["result"]


def complete(
    conn: psycopg.Connection[DictRow],
    sender: str,
    key: str,
    owner: uuid.UUID,
    fingerprint: bytes,
    result: dict[str, Any],
) -> bool:
    """The result, with the fingerprint of the whole body (a multipart request claimed its key with
    that of its text fields); False when the key is no longer `owner`'s (a retry took it over)."""
    return (
        conn.execute(
            """UPDATE request_idempotency SET completed = now(), fingerprint = %s, result = %s, lease_until = NULL
               WHERE sender = %s AND key = %s AND owner = %s AND completed IS NULL RETURNING 1""",
            (fingerprint, Jsonb(result), sender, key, owner),
        ).fetchone()
        is not None
    )


def release(conn: psycopg.Connection[DictRow], sender: str, key: str, owner: uuid.UUID) -> None:
    """The request failed: nothing was stored, the key may be used again (unless a retry holds it now)."""
    conn.execute(
        "DELETE FROM request_idempotency WHERE sender = %s AND key = %s AND owner = %s AND completed IS NULL",
        (sender, key, owner),
    )


def forget_older_than(conn: psycopg.Connection[DictRow], age: timedelta, limit: int = 10000) -> int:
    rows = conn.execute(
        """DELETE FROM request_idempotency WHERE ctid IN (
               SELECT ctid FROM request_idempotency WHERE started < now() - %s LIMIT %s)""",
        (age, limit),
    )
    return rows.rowcount
