"""Migration 0019 on a database with rows: completed outbox rows go, new ones are the relay's,
dispatched or retrying ones go again on the rare paths, unforwarded events are the fan-out's and
forwarded ones never again, and `published` becomes the Published status row's time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row
from yoyo import get_backend, read_migrations

from app.db.migrate import MIGRATIONS_DIR, apply_migrations, yoyo_url
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import events as events_repo
from app.db.repositories import notifications as notification_repo
from tests.db.test_thin_migration import _as_uri

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture()
def database_before(database_url: str) -> Iterator[str]:
    """A new database with the migrations before 0019 applied."""
    with database_at(database_url, "0019") as url:
        yield url


@contextmanager
def database_at(database_url: str, before: str) -> Iterator[str]:
    """A new database with the migrations before `before` applied (dropped afterwards)."""
    parts = psycopg.conninfo.conninfo_to_dict(database_url)
    name = f"migration_{uuid.uuid4().hex[:10]}"
    admin = psycopg.conninfo.make_conninfo(**dict(parts, dbname="postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _as_uri(psycopg.conninfo.make_conninfo(**dict(parts, dbname=name)))
    try:
        backend = get_backend(yoyo_url(url))
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            backend.apply_migrations(backend.to_apply(migrations.filter(lambda m: m.id < before)))
        backend.connection.close()
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_rows_in_every_state_carry_over(database_before: str) -> None:
    ids = {k: uuid.uuid4() for k in ("done", "new", "dispatched", "retrying", "published", "unmarked")}
    init = uuid.uuid4()
    with psycopg.connect(database_before, row_factory=dict_row, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO initializations (id, resource_id, sender, senders_reference, requested_publish_time,
                                            created, language, message_title, message_body)
               VALUES (%s, 'r', 's', 'ref', %s, %s, 'nb', 't', 'b')""",
            (init, NOW, NOW),
        )
        for key, cid in ids.items():
            conn.execute(
                "INSERT INTO correspondences (id, initialization_id, recipient, published) VALUES (%s, %s, 'x', %s)",
                (cid, init, NOW if key in ("published", "unmarked") else None),
            )
        conn.execute(
            """INSERT INTO correspondence_statuses (id, correspondence_id, status, status_text, status_changed)
               VALUES (gen_random_uuid(), %s, 2, 'Published', %s)""",
            (ids["published"], NOW),
        )
        old = datetime.now(UTC) - timedelta(days=3)
        conn.execute(
            """INSERT INTO notification_outbox (correspondence_id, created, dispatched_at, completed_at, retry_at)
               VALUES (%s, %s, %s, %s, NULL), (%s, %s, NULL, NULL, NULL), (%s, %s, %s, NULL, NULL),
                      (%s, %s, NULL, NULL, %s)""",
            (
                ids["done"],
                old,
                old,
                old,
                ids["new"],
                old,
                ids["dispatched"],
                old,
                old,
                ids["retrying"],
                old,
                old,
            ),
        )
        conn.execute(
            """INSERT INTO correspondence_events (event_type, correspondence_id, forwarded_at)
               VALUES ('forwarded', %s, now()), ('waiting', %s, NULL)""",
            (ids["done"], ids["new"]),
        )

    apply_migrations(database_before)

    with psycopg.connect(database_before, row_factory=dict_row) as conn:
        outbox = {
            r["correspondence_id"] for r in conn.execute("SELECT correspondence_id FROM notification_outbox")
        }
        assert outbox == {ids["new"], ids["dispatched"], ids["retrying"]}  # the completed row is gone
        taken, end = notification_repo.take_new(conn, 100)
        assert [i for i, _ in taken] == [ids["new"]] and end is not None
        notification_repo.advance(conn, end)
        assert [i for i, _ in notification_repo.take_due_again(conn, 100)] == [ids["retrying"]]
        stale = notification_repo.take_stale_for_dispatch(
            conn, redispatch_after=timedelta(minutes=2), limit=100
        )
        assert set(stale) == {ids["new"], ids["dispatched"]}  # dispatched before, or long after created
        rows = events_repo.take_outbox(conn, 100)
        assert [r["event_type"] for r in rows] == ["waiting"]
        events_repo.forwarded_through(conn, rows[-1])
        assert events_repo.take_outbox(conn, 100) == []
        for key in ("published", "unmarked"):
            row = correspondence_repo.get_correspondence(conn, ids[key])
            assert row is not None and row["published"] == NOW
        row = correspondence_repo.get_correspondence(conn, ids["new"])
        assert row is not None and row["published"] is None
        conn.rollback()
