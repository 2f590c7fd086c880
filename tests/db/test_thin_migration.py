"""Migration 0005 carries rows written through the old schema (one row per recipient with its own
content, references, reply options and attachment links) into the thin model, 0012 drops the stored
Initialized statuses, and every read answers as it did."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row
from yoyo import get_backend, read_migrations

from app.db.migrate import MIGRATIONS_DIR, yoyo_url
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.db.repositories import notifications as notification_repo
from app.db.repositories import search as search_repo
from app.db.repositories.attachments import latest_expirations

OLD_SCHEMA = ("0001_initial", "0002_notification_orders", "0003_lifecycle", "0004_attachment_expiry")
SENDER = "urn:altinn:organization:identifier-no:991825827"
RECIPIENT = "urn:altinn:organization:identifier-no:313721779"
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture()
def old_database(database_url: str) -> Iterator[str]:
    """A new database with only the migrations before 0005 applied."""
    parts = psycopg.conninfo.conninfo_to_dict(database_url)
    name = f"migration_{uuid.uuid4().hex[:10]}"
    admin = psycopg.conninfo.make_conninfo(**dict(parts, dbname="postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(**dict(parts, dbname=name))
    try:
        backend = get_backend(yoyo_url(_as_uri(url)))
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            backend.apply_migrations(backend.to_apply(migrations.filter(lambda m: m.id in OLD_SCHEMA)))
        backend.connection.close()
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_uri(conninfo: str) -> str:
    p = psycopg.conninfo.conninfo_to_dict(conninfo)
    auth = p.get("user", "postgres") + (f":{p['password']}" if p.get("password") else "")
    host = p.get("host", "127.0.0.1")
    if host.startswith("/"):
        return f"postgresql://{auth}@/{p['dbname']}?host={host}&port={p.get('port', 5432)}"
    return f"postgresql://{auth}@{host}:{p.get('port', 5432)}/{p['dbname']}"


def _fill_old_schema(conn: psycopg.Connection) -> dict[str, uuid.UUID]:
    """Two correspondences of one old Initialize, as the old code wrote them (content per row)."""
    ids = {"first": uuid.uuid4(), "second": uuid.uuid4(), "attachment": uuid.uuid4()}
    conn.execute("""INSERT INTO resources (id, service_owner_org_number, title) VALUES ('old-service', '991825827',
                    '{"nb": "Gammel tjeneste"}')""")
    conn.execute(
        """INSERT INTO attachments (id, resource_id, file_name, senders_reference, sender, created)
                    VALUES (%s, 'old-service', 'a.pdf', 'att-ref', %s, %s)""",
        (ids["attachment"], SENDER, NOW),
    )
    conn.execute(
        """INSERT INTO attachment_statuses (id, attachment_id, status, status_text, status_changed)
                    VALUES (gen_random_uuid(), %s, 2, 'Published', %s)""",
        (ids["attachment"], NOW),
    )
    for n, key in enumerate(("first", "second")):
        cid, content = ids[key], uuid.uuid4()
        conn.execute(
            """INSERT INTO correspondences (id, resource_id, recipient, recipient_type, sender, service_owner_id,
                   senders_reference, message_sender, requested_publish_time, due_date_time, property_list,
                   ignore_reservation, is_confirmation_needed, is_confidential, allow_forwarding, created,
                   notification_request, original_request)
               VALUES (%s, 'old-service', %s, 'urn:altinn:organization:identifier-no', %s, '991825827', 'old-ref',
                       'Avsender', %s, %s, '{"b": "2", "a": "1"}', true, true, false, true, %s,
                       '{"notification_template": 1, "send_reminder": true}', '{"whatever": "was sent"}')""",
            (
                cid,
                RECIPIENT if n == 0 else "urn:altinn:person:identifier-no:08900499559",
                SENDER,
                NOW,
                NOW + timedelta(days=3),
                NOW,
            ),
        )
        conn.execute(
            """INSERT INTO correspondence_contents (id, correspondence_id, language, message_title,
                            message_summary, message_body) VALUES (%s, %s, 'nn', %s, 'Samandrag', 'Brødtekst')""",
            (content, cid, f"Tittel til mottakar {n}"),
        )
        for status, text in ((0, "Initialized"), (1, "ReadyForPublish")):
            conn.execute(
                """INSERT INTO correspondence_statuses (id, correspondence_id, status, status_text,
                                status_changed) VALUES (gen_random_uuid(), %s, %s, %s, %s)""",
                (cid, status, text, NOW),
            )
        for i, (kind, value) in enumerate(((0, "sak-1"), (2, "ref-2"))):
            conn.execute(
                """INSERT INTO external_references (id, correspondence_id, reference_type, reference_value)
                            VALUES (%s, %s, %s, %s)""",
                (uuid.UUID(int=10 * n + i + 1), cid, kind, value),
            )
        for i, (url, text) in enumerate((("https://a.example", "A"), ("https://b.example", None))):
            conn.execute(
                """INSERT INTO reply_options (id, correspondence_id, link_url, link_text)
                            VALUES (%s, %s, %s, %s)""",
                (uuid.UUID(int=10 * n + i + 1), cid, url, text),
            )
        conn.execute(
            """INSERT INTO correspondence_attachments (id, correspondence_content_id, attachment_id, created,
                            expiration_time) VALUES (gen_random_uuid(), %s, %s, %s, %s)""",
            (content, ids["attachment"], NOW, NOW + timedelta(days=30 + n)),
        )
        conn.execute(
            "INSERT INTO notification_outbox (correspondence_id, created) VALUES (%s, %s)", (cid, NOW)
        )
    conn.execute(
        """INSERT INTO idempotency_keys (id, correspondence_id, idempotency_type) VALUES (%s, %s, 0)""",
        (uuid.uuid4(), ids["first"]),
    )
    return ids


def test_old_rows_read_the_same_after_the_migration(old_database: str) -> None:
    from app.db.migrate import apply_migrations

    with psycopg.connect(old_database, row_factory=dict_row) as conn:
        ids = _fill_old_schema(conn)
    assert apply_migrations(_as_uri(old_database))[0] == "0005_thin_correspondences"

    with psycopg.connect(old_database, row_factory=dict_row) as conn:
        first = correspondence_repo.get_correspondence(conn, ids["first"])
        second = correspondence_repo.get_correspondence(conn, ids["second"])
        assert first is not None and second is not None
        assert first["initialization_id"] != second["initialization_id"]  # old rows: one initialization each
        assert (first["resource_id"], first["sender"], first["recipient"]) == (
            "old-service",
            SENDER,
            RECIPIENT,
        )
        assert (first["senders_reference"], first["message_sender"]) == ("old-ref", "Avsender")
        assert first["requested_publish_time"] == NOW and first["due_date_time"] == NOW + timedelta(days=3)
        assert first["ignore_reservation"] is True and first["is_confirmation_needed"] is True
        assert first["allow_forwarding"] is True and first["is_confidential"] is False
        assert list(first["property_list"]) == ["b", "a"]  # key order kept
        assert first["notification_request"] == {"notification_template": 1, "send_reminder": True}
        assert (
            first["language"],
            first["message_title"],
            first["message_summary"],
            first["message_body"],
        ) == ("nn", "Tittel til mottakar 0", "Samandrag", "Brødtekst")
        assert second["message_title"] == "Tittel til mottakar 1"
        assert first["external_references"] == [
            {"reference_type": 0, "reference_value": "sak-1"},
            {"reference_type": 2, "reference_value": "ref-2"},
        ]
        assert first["reply_options"] == [
            {"link_url": "https://a.example", "link_text": "A"},
            {"link_url": "https://b.example", "link_text": None},
        ]
        assert [a["id"] for a in first["attachments"]] == [ids["attachment"]]
        assert first["attachments"][0]["expiration_time"] == NOW + timedelta(days=30)
        assert [s["status"] for s in first["statuses"]] == [0, 1]
        # 0012: the stored Initialized rows are gone; reads derive the status from the Initialize.
        assert conn.execute(
            "SELECT count(*) AS n FROM correspondence_statuses WHERE status = 0"
        ).fetchone() == {"n": 0}
        assert correspondence_repo.status_sets(conn, [ids["first"]]) == {ids["first"]: {0, 1}}

        # Order building, search, lifecycle and attachment reads see the same rows.
        [loaded] = notification_repo.load_for_orders(conn, [ids["first"]])
        assert "message_body" not in loaded and "message_summary" not in loaded  # orders read the title only
        assert loaded["message_title"] == "Tittel til mottakar 0" and loaded["resource_title"] == {
            "nb": "Gammel tjeneste"
        }
        assert set(
            search_repo.search(
                conn,
                resource_id="old-service",
                party=SENDER,
                as_recipient=False,
                as_sender=True,
                date_from=None,
                date_to=None,
                status=None,
                senders_reference="old-ref",
                offset=0,
                limit=10,
            )
        ) == {ids["first"], ids["second"]}
        assert lifecycle_repo.lock_correspondence(conn, ids["second"])["sender"] == SENDER
        assert latest_expirations(conn, [ids["attachment"]]) == {ids["attachment"]: NOW + timedelta(days=31)}
        assert notification_repo.incomplete_among(conn, [ids["first"], ids["second"]]) == {
            ids["first"],
            ids["second"],
        }
        # The raw request is gone with its column.
        columns = {
            r["column_name"]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'correspondences'"
            )
        }
        assert "original_request" not in columns and "message_body" not in columns
        assert json.dumps(first, default=str)  # every value is plain data
