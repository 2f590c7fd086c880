"""The publish job, the due-date job and the attachment expiry job, run by beat-driven scans of due rows
(SPEC.md §1.5–§1.6).

Run-once: due rows are taken with SKIP LOCKED and removed in the same transaction that writes
the statuses; a unique index allows one Published row per correspondence.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
    jobs: int = 0  # publish jobs taken (one per initialization)


def publish_due(db: Database, limit: int = 20) -> PublishResult:
    """Run up to `limit` due publish jobs (each covers every recipient of one Initialize)."""
    with db.transaction() as conn:
        jobs = lifecycle_repo.take_due_publications(conn, limit)
        if not jobs:
            return PublishResult()
        due = lifecycle_repo.correspondences_to_publish(conn, jobs)
        ids = [d["id"] for d in due]
        statuses = correspondence_repo.status_sets(conn, ids)
        attachments = lifecycle_repo.attachment_states(conn, ids)
        now = datetime.now(UTC)
        status_rows: list[tuple[uuid.UUID, int, str, datetime, str | None]] = []
        events, published, failed, waiting = [], [], [], []
        for d in due:
            decision = decide_publication(
                statuses.get(d["id"], set()),
                attachments.get(d["id"], []),
                d["recipient"],
                d["recipient_reserved"],
                d["ignore_reservation"],
            )
            if decision.action == FAIL:
                assert decision.reason is not None  # a FAIL decision always says why
                status_rows.append((d["id"], int(S.Failed), decision.reason, now, None))
                events.append(("correspondencepublishfailed", d["id"], d["recipient"]))
                failed.append(d["id"])
            elif decision.action == PUBLISH:
                if decision.write_ready_for_publish:
                    status_rows.append((d["id"], int(S.ReadyForPublish), "ReadyForPublish", now, None))
                status_rows.append(
                    (d["id"], int(S.Published), "Published", now + timedelta(microseconds=1), None)
                )
                events.append(("correspondencepublished", d["id"], d["recipient"]))
                published.append(d["id"])
            elif decision.action != DONE:
                waiting.append(d)
        # A job ends once none of its correspondences waits (their attachments are shared: all or none).
        postponed = list(dict.fromkeys(d["initialization_id"] for d in waiting))
        lifecycle_repo.add_statuses(conn, status_rows)
        lifecycle_repo.add_events(conn, events)
        lifecycle_repo.finish_publication(conn, [j for j in jobs if j not in set(postponed)])
        lifecycle_repo.postpone_publication(conn, postponed, RECHECK_AFTER)
    return PublishResult(len(published), len(failed), len(waiting), len(jobs))


@dataclass(frozen=True)
class DueDateResult:
    events: int = 0
    jobs: int = 0  # due-date jobs taken (one per initialization)


def check_due_dates(db: Database, limit: int = 20) -> DueDateResult:
    """At dueDateTime: events only, no status change (§1.6)."""
    with db.transaction() as conn:
        jobs, due = lifecycle_repo.take_due_dates(conn, limit)
        if not jobs:
            return DueDateResult()
        ids = [d["id"] for d in due]
        statuses = correspondence_repo.status_sets(conn, ids)
        events = []
        for d in due:
            for event in due_date_events(statuses.get(d["id"], set()), d["is_confirmation_needed"]) or []:
                events.append((event, d["id"], d["recipient"]))
        lifecycle_repo.add_events(conn, events)
        lifecycle_repo.finish_due_dates(conn, jobs)
    return DueDateResult(len(events), len(jobs))


def expire_attachments(db: Database, storage: AttachmentStorage, limit: int = 500) -> int:
    """The expire-attachment job: Expired status, then the file is deleted (after commit)."""
    with db.transaction() as conn:
        ids = lifecycle_repo.take_expired_attachments(conn, limit)
        lifecycle_repo.expire_attachments(conn, ids, datetime.now(UTC))
    for attachment_id in ids:
        storage.delete(str(attachment_id))
    return len(ids)
