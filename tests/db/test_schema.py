"""What the schema holds that the code relies on (migration 0011: work tables without foreign keys)."""

from __future__ import annotations

from app.db.pool import Database

WORK_TABLES = {"notification_outbox", "publication_queue", "due_date_queue", "correspondence_events"}
DOMAIN_REFERENCES = {
    ("correspondences", "initializations"),
    ("correspondence_statuses", "correspondences"),
    ("notification_orders", "correspondences"),
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


def test_work_tables_keep_no_foreign_keys_and_domain_tables_keep_theirs(db: Database) -> None:
    references = _references(db)
    # Each check ran a trigger locking the parent row written by the same statement: a third of an
    # Initialize's INSERT, for a check that cannot fail (those parents are never deleted).
    assert {child for child, _ in references} & WORK_TABLES == set()
    assert references >= DOMAIN_REFERENCES
