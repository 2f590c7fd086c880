"""What the schema holds that the code relies on (migrations 0011 and 0023: the rows written per
recipient, on the work tables and the hot ones, without foreign keys)."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from app.db.pool import Database

WORK_TABLES = {"notification_outbox", "publication_queue", "due_date_queue", "correspondence_events"}
# Written per recipient by the Initialize's one statement or the worker's order insert (0023).
HOT_TABLES = {"correspondences", "correspondence_statuses", "notification_orders"}
DOMAIN_REFERENCES = {
    ("correspondence_fetched", "correspondences"),
    ("idempotency_keys", "correspondences"),
    ("notification_deliveries", "notification_orders"),
    ("initialization_attachments", "initializations"),
    ("initialization_attachments", "attachments"),
}


def _references(db: Database) -> set[tuple[str, str]]:
    with db.transaction() as conn:
        rows = conn.execute(
            """SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
               FROM pg_constraint c WHERE c.contype = 'f'"""
        ).fetchall()
    return {(r["child"], r["parent"]) for r in rows}


def test_rows_written_per_recipient_keep_no_foreign_keys_and_the_others_keep_theirs(db: Database) -> None:
    references = _references(db)
    # Each check ran a trigger locking the parent row written by the same statement: a third of an
    # Initialize's INSERT, for a check that cannot fail (those parents are never deleted).
    assert {child for child, _ in references} & (WORK_TABLES | HOT_TABLES) == set()
    assert references >= DOMAIN_REFERENCES


def test_altinn2_ids_stay_unique_and_correspondences_without_one_take_no_index_entry(db: Database) -> None:
    with db.transaction() as conn:
        index = conn.execute(
            """SELECT indexdef FROM pg_indexes
               WHERE tablename = 'correspondences' AND indexdef LIKE '%%(altinn2_correspondence_id)%%'"""
        ).fetchall()
        # One index, unique and partial: a NULL (every correspondence made here) takes no entry.
        assert [r["indexdef"].split(" USING ")[1] for r in index] == [
            "btree (altinn2_correspondence_id) WHERE (altinn2_correspondence_id IS NOT NULL)"
        ]
        assert "UNIQUE" in index[0]["indexdef"]
    init = uuid.uuid4()
    with pytest.raises(psycopg.errors.UniqueViolation), db.transaction() as conn:
        conn.execute(
            """INSERT INTO initializations (id, resource_id, sender, senders_reference, requested_publish_time,
                                            created, language, message_title, message_body)
               VALUES (%s, 'r', 's', 'ref', now(), now(), 'nb', 't', 'b')""",
            (init,),
        )
        number = 900_000_000 + uuid.uuid4().int % 1_000_000
        for a2 in (None, None, number, number):
            conn.execute(
                """INSERT INTO correspondences (id, initialization_id, recipient, altinn2_correspondence_id)
                   VALUES (%s, %s, 'x', %s)""",
                (uuid.uuid4(), init, a2),
            )
