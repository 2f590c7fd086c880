"""Migration 0022: outbox rows already there count as claimed before, so that a worker looks their
orders up under both ids (time-ordered now, plain uuid5 before)."""

from __future__ import annotations

import uuid

import psycopg
from psycopg.rows import dict_row

from app.db.migrate import apply_migrations
from tests.db.test_work_tables_migration import database_at

NIL = uuid.UUID(int=0)


def test_rows_already_in_the_outbox_are_looked_up_under_both_ids(database_url: str) -> None:
    never, held = uuid.uuid4(), uuid.uuid4()
    owner = uuid.uuid4()
    with database_at(database_url, "0022") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO notification_outbox (correspondence_id, lease_owner) VALUES (%s, NULL), (%s, %s)",
                (never, held, owner),
            )
        apply_migrations(url)
        with psycopg.connect(url, row_factory=dict_row) as conn:
            rows = conn.execute("SELECT correspondence_id, lease_owner FROM notification_outbox").fetchall()
            owners = {r["correspondence_id"]: r["lease_owner"] for r in rows}
            assert owners == {never: NIL, held: owner}
            # Rows written after it have none until a worker claims them: their first claim.
            conn.execute("INSERT INTO notification_outbox (correspondence_id) VALUES (%s)", (uuid.uuid4(),))
            assert conn.execute(
                "SELECT count(*) AS n FROM notification_outbox WHERE lease_owner IS NULL"
            ).fetchone() == {"n": 1}
