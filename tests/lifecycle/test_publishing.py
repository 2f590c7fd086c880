"""Publishing at requestedPublishTime by real workers; run-once; due dates (SPEC.md §1.5–§1.6)."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

from app.domain.enums import CorrespondenceStatus as S
from app.usecases.publish_correspondences import check_due_dates, publish_due
from tests.api.helpers import details, org_urn
from tests.factories import iso
from tests.lifecycle.helpers import create, publish_now, statuses_of
from tests.workers.conftest import wait_until, worker_process

WORKER_ENV = {"PUBLISH_SCAN_INTERVAL_SECONDS": "0.5"}


def published_at(db, cid: str) -> datetime | None:
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT status_changed FROM correspondence_statuses WHERE correspondence_id = %s AND status = 2",
            (cid,),
        ).fetchone()
    return row["status_changed"] if row else None


def test_published_within_seconds_after_its_time_and_not_before(
    client, sender, db, database_url, redis_url, tmp_path
):
    publish_time = datetime.now(UTC) + timedelta(seconds=3)
    [cid] = create(client, sender, requestedPublishTime=publish_time.isoformat())
    worker = worker_process(database_url, redis_url, tmp_path, beat=True, **WORKER_ENV)
    try:
        while datetime.now(UTC) < publish_time - timedelta(milliseconds=300):
            assert published_at(db, cid) is None, "published before its time"
            time.sleep(0.1)
        assert wait_until(lambda: published_at(db, cid) is not None, 15), "not published after its time"
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    at = published_at(db, cid)
    assert publish_time <= at <= publish_time + timedelta(seconds=8)
    assert details(client, cid, sender).get_json()["status"] == "Published"


def test_a_worker_restart_before_publish_time_does_not_lose_the_publish(
    client, sender, db, database_url, redis_url, tmp_path
):
    publish_time = datetime.now(UTC) + timedelta(seconds=4)
    [cid] = create(client, sender, requestedPublishTime=publish_time.isoformat())
    first = worker_process(database_url, redis_url, tmp_path, beat=True, **WORKER_ENV)
    time.sleep(1.5)
    os.killpg(first.pid, signal.SIGKILL)  # worker and beat die without a word
    first.wait(10)
    second = worker_process(database_url, redis_url, tmp_path, beat=True, **WORKER_ENV)
    try:
        assert wait_until(lambda: published_at(db, cid) is not None, 20)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(30)
    assert published_at(db, cid) >= publish_time


def test_two_workers_never_publish_the_same_correspondence_twice(client, sender, db):
    # 30 Initializes of 10 recipients: 30 publish jobs for the two workers to race for.
    ids = [
        i
        for n in range(30)
        for i in create(client, sender, recipients=[org_urn(720000000 + 10 * n + i) for i in range(10)])
    ]
    results, barrier = [], threading.Barrier(2)

    def run():
        barrier.wait()
        total = 0
        while (result := publish_due(db, limit=3)).jobs:
            total += result.published
        results.append(total)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(results) == 300
    with db.transaction() as conn:
        counts = conn.execute(
            "SELECT correspondence_id, count(*) AS n FROM correspondence_statuses "
            "WHERE correspondence_id = ANY(%s::uuid[]) AND status = 2 GROUP BY 1",
            (ids,),
        ).fetchall()
    assert len(counts) == 300 and all(c["n"] == 1 for c in counts)


def test_publish_job_is_run_once_even_when_asked_again(client, sender, db):
    [cid] = create(client, sender)
    publish_now(db)
    with db.transaction() as conn:  # a stray second job for the same correspondence
        conn.execute(
            "INSERT INTO publication_queue (initialization_id, due_at) "
            "SELECT initialization_id, now() FROM correspondences WHERE id = %s",
            (cid,),
        )
    publish_now(db)
    assert statuses_of(db, cid).count(S.Published) == 1


def test_future_publish_time_is_not_published_by_an_early_scan(client, sender, db):
    [cid] = create(client, sender, requestedPublishTime=iso(timedelta(hours=1)))
    publish_now(db)
    assert S.Published not in statuses_of(db, cid)


def test_due_date_writes_events_but_changes_no_status(client, sender, db):
    [cid] = create(client, sender, isConfirmationNeeded=True, dueDateTime=iso(timedelta(days=3)))
    publish_now(db)
    before = statuses_of(db, cid)
    with db.transaction() as conn:
        conn.execute(
            "UPDATE due_date_queue SET due_at = now() WHERE initialization_id = "
            "(SELECT initialization_id FROM correspondences WHERE id = %s)",
            (cid,),
        )
    check_due_dates(db)
    assert statuses_of(db, cid) == before
    with db.transaction() as conn:
        events = [
            r["event_type"]
            for r in conn.execute(
                "SELECT event_type FROM correspondence_events WHERE correspondence_id = %s ORDER BY id",
                (cid,),
            )
        ]
    assert events == [
        "correspondencepublished",
        "correspondencereceiverneverread",
        "correspondencereceiverneverconfirmed",
    ]
