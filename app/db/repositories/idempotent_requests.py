"""The `request_idempotency` table: keys of replayable Initialize requests, per sender."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from app.domain.idempotency import StoredKey


def claim(conn: psycopg.Connection[DictRow], sender: str, key: str, fingerprint: bytes) -> StoredKey | None:
    """Store the key as in flight and return None, or (locked) the row another request stored."""
    while True:
        inserted = conn.execute(
            """INSERT INTO request_idempotency (sender, key, fingerprint) VALUES (%s, %s, %s)
               ON CONFLICT (sender, key) DO NOTHING RETURNING 1""",
            (sender, key, fingerprint),
        ).fetchone()
        if inserted:
            return None
        row = conn.execute(
            "SELECT fingerprint, started, completed FROM request_idempotency "
            "WHERE sender = %s AND key = %s FOR UPDATE",
            (sender, key),
        ).fetchone()
        if row is not None:
            return StoredKey(bytes(row["fingerprint"]), row["started"], row["completed"])
        # Gone between the two statements (the other request failed and released it, or it was
        # forgotten): claim it again.


def restart(conn: psycopg.Connection[DictRow], sender: str, key: str, fingerprint: bytes) -> None:
    """A forgotten or abandoned key begins again as in flight."""
    conn.execute(
        """UPDATE request_idempotency SET fingerprint = %s, started = now(), completed = NULL, result = NULL
                    WHERE sender = %s AND key = %s""",
        (fingerprint, sender, key),
    )


def result_of(conn: psycopg.Connection[DictRow], sender: str, key: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT result FROM request_idempotency WHERE sender = %s AND key = %s", (sender, key)
    ).fetchone()
    assert row is not None  # asked for a key this transaction holds
    return row["result"]


def complete(
    conn: psycopg.Connection[DictRow], sender: str, key: str, fingerprint: bytes, result: dict[str, Any]
) -> None:
    """The result, with the fingerprint of the whole body (a multipart request claimed its key with
    that of its text fields)."""
    conn.execute(
        "UPDATE request_idempotency SET completed = now(), fingerprint = %s, result = %s "
        "WHERE sender = %s AND key = %s",
        (fingerprint, Jsonb(result), sender, key),
    )


def release(conn: psycopg.Connection[DictRow], sender: str, key: str) -> None:
    """The request failed: nothing was stored, the key may be used again."""
    conn.execute(
        "DELETE FROM request_idempotency WHERE sender = %s AND key = %s AND completed IS NULL", (sender, key)
    )


def forget_older_than(conn: psycopg.Connection[DictRow], age: timedelta, limit: int = 10000) -> int:
    rows = conn.execute(
        """DELETE FROM request_idempotency WHERE ctid IN (
               SELECT ctid FROM request_idempotency WHERE started < now() - %s LIMIT %s)""",
        (age, limit),
    )
    return rows.rowcount
