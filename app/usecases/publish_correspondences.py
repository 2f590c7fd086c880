"""The publish job, the due-date job and the attachment expiry job, run by beat-driven scans of due rows (SPEC.md §1.5–§1.6).

Run-once: due rows are taken with SKIP LOCKED and removed in the same transaction that writes
the statuses; a unique index allows one Published row per correspondence.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app.db.pool import Database
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.domain.enums import CorrespondenceStatus as S
from app.domain.publication import DONE, FAIL, PUBLISH, decide_publication, due_date_events
from app.storage import AttachmentStorage

RECHECK_AFTER = timedelta(seconds=10)


@dataclass(frozen=True)
class PublishResult:
    published: int = 0
    failed: int = 0
    waiting: int = 0


def publish_due(db: Database, limit: int = 500) -> PublishResult:
    with db.transaction() as conn:
        due = lifecycle_repo.take_due_publications(conn, limit)
        if not due:
            return PublishResult()
        ids = [d["id"] for d in due]
        statuses = correspondence_repo.status_sets(conn, ids)
        attachments = lifecycle_repo.attachment_states(conn, ids)
        now = datetime.now(timezone.utc)
        status_rows, events, finished, published, failed, waiting = [], [], [], [], [], []
        for d in due:
            decision = decide_publication(statuses.get(d["id"], set()), attachments.get(d["id"], []),
                                          d["recipient"], d["recipient_reserved"], d["ignore_reservation"])
            if decision.action == DONE:
                finished.append(d["id"])
            elif decision.action == FAIL:
                status_rows.append((d["id"], int(S.Failed), decision.reason, now, None))
                events.append(("correspondencepublishfailed", d["id"], d["recipient"]))
                finished.append(d["id"])
                failed.append(d["id"])
            elif decision.action == PUBLISH:
                if decision.write_ready_for_publish:
                    status_rows.append((d["id"], int(S.ReadyForPublish), "ReadyForPublish", now, None))
                status_rows.append((d["id"], int(S.Published), "Published", now + timedelta(microseconds=1), None))
                events.append(("correspondencepublished", d["id"], d["recipient"]))
                finished.append(d["id"])
                published.append(d["id"])
            else:
                waiting.append(d["id"])
        lifecycle_repo.add_statuses(conn, status_rows)
        lifecycle_repo.set_published(conn, published, now + timedelta(microseconds=1))
        lifecycle_repo.add_events(conn, events)
        lifecycle_repo.finish_publication(conn, finished)
        lifecycle_repo.postpone_publication(conn, waiting, RECHECK_AFTER)
    return PublishResult(len(published), len(failed), len(waiting))


def check_due_dates(db: Database, limit: int = 500) -> int:
    """At dueDateTime: events only, no status change (§1.6). Returns the number of events written."""
    with db.transaction() as conn:
        due = lifecycle_repo.take_due_dates(conn, limit)
        if not due:
            return 0
        ids = [d["id"] for d in due]
        statuses = correspondence_repo.status_sets(conn, ids)
        events = []
        for d in due:
            for event in due_date_events(statuses.get(d["id"], set()), d["is_confirmation_needed"]) or []:
                events.append((event, d["id"], d["recipient"]))
        lifecycle_repo.add_events(conn, events)
        lifecycle_repo.finish_due_dates(conn, ids)
    return len(events)


def expire_attachments(db: Database, storage: AttachmentStorage, limit: int = 500) -> int:
    """The expire-attachment job: Expired status, then the file is deleted (after commit)."""
    with db.transaction() as conn:
        ids = lifecycle_repo.take_expired_attachments(conn, limit)
        lifecycle_repo.expire_attachments(conn, ids, datetime.now(timezone.utc))
    for attachment_id in ids:
        storage.delete(str(attachment_id))
    return len(ids)
