"""Database.transaction and Database.statements on the pooled connections (real PostgreSQL)."""

from __future__ import annotations

import psycopg
import pytest

from app.db.pool import Database


@pytest.fixture
def scratch(db: Database):
    with db.transaction() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS pool_scratch (n int PRIMARY KEY)")
        conn.execute("TRUNCATE pool_scratch")
    yield db
    with db.transaction() as conn:
        conn.execute("DROP TABLE pool_scratch")


def _count(db: Database) -> int:
    with db.transaction() as conn:
        return conn.execute("SELECT count(*) AS n FROM pool_scratch").fetchone()["n"]


def test_statements_commit_one_by_one(scratch: Database) -> None:
    with pytest.raises(psycopg.errors.UniqueViolation), scratch.statements() as conn:
        conn.execute("INSERT INTO pool_scratch VALUES (1)")
        conn.execute("INSERT INTO pool_scratch VALUES (1)")
    assert _count(scratch) == 1  # the first statement stayed: no transaction around the two


def test_a_transaction_rolls_back_as_a_whole(scratch: Database) -> None:
    with pytest.raises(psycopg.errors.UniqueViolation), scratch.transaction() as conn:
        conn.execute("INSERT INTO pool_scratch VALUES (1)")
        conn.execute("INSERT INTO pool_scratch VALUES (1)")
    assert _count(scratch) == 0


def test_connections_go_back_to_the_pool_out_of_autocommit(scratch: Database) -> None:
    for _ in range(3):  # the pool may hand out any of its connections: each one must be reset
        with scratch.statements() as conn:
            assert conn.autocommit
    for _ in range(3):
        with scratch.transaction() as conn:
            assert not conn.autocommit
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
