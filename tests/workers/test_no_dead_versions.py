"""Work that is done leaves no dead version per step (issue 29, migration 0019): the relay and the
events fan-out read past a cursor instead of marking rows, an outbox row is deleted by the statement
that records its orders, publishing writes no correspondence row, and the local gateway keeps no copy
of a request it never sends. A row's `xmin` (the transaction that wrote its version) shows whether a
step wrote a new version of it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from app.events_settings import load_event_settings
from app.usecases.create_notification_orders import create_notification_orders
from app.usecases.deliver_events import fan_out
from app.usecases.dispatch_notification_orders import dispatch_new, relay_outbox
from app.usecases.publish_correspondences import publish_due
from tests.api.helpers import FULL_NOTIFICATION, ok, org_urn, overview, post
from tests.factories import initialize_request
from tests.lifecycle.helpers import create
from tests.workers.conftest import wait_until
from workers.gateways.local import LocalGateway


class Sent(list):
    def __call__(self, ids: list[uuid.UUID]) -> None:
        self.extend(ids)


def _initialize(client, sender, n: int, first: int) -> list[uuid.UUID]:
    body = initialize_request([org_urn(first + i) for i in range(n)], notification=FULL_NOTIFICATION)
    return [uuid.UUID(c["correspondenceId"]) for c in ok(post(client, body, sender))["correspondences"]]


def _versions(db, table: str, key: str, ids: list) -> dict:
    with db.transaction() as conn:
        rows = conn.execute(f"SELECT {key} AS k, xmin::text AS v FROM {table} WHERE {key} = ANY(%s)", (ids,))
        return {r["k"]: r["v"] for r in rows}


def _relay_until_sent(db, ids: list[uuid.UUID]) -> Sent:
    sent = Sent()
    assert wait_until(lambda: dispatch_new(db, sent) >= 0 and set(ids) <= set(sent), 10)
    return sent


def test_dispatching_writes_no_outbox_row_and_recording_the_orders_deletes_it(
    client, sender, db, without_session_relay
):
    ids = _initialize(client, sender, 3, 761000000)
    written = _versions(db, "notification_outbox", "correspondence_id", ids)
    assert set(written) == set(ids)
    _relay_until_sent(db, ids)
    assert _versions(db, "notification_outbox", "correspondence_id", ids) == written  # not updated
    again = Sent()
    dispatch_new(db, again)
    assert not set(again) & set(ids)  # the cursor moved past them: sent once
    result = create_notification_orders(db, LocalGateway(), ids)
    assert result.recorded == 6 and sorted(result.completed) == sorted(ids)
    assert _versions(db, "notification_outbox", "correspondence_id", ids) == {}  # deleted, not updated


def test_a_row_committed_after_an_older_transaction_waits_for_it_and_is_not_skipped(
    client, sender, db, database_url, without_session_relay
):
    with psycopg.connect(database_url) as older:  # a transaction with an id, open across the Initialize
        older.execute("SELECT pg_current_xact_id()")
        ids = _initialize(client, sender, 2, 762000000)
        sent = Sent()
        dispatch_new(db, sent)
        assert not set(sent) & set(ids)  # held back, and not passed by the cursor (sent below)
        older.rollback()
    _relay_until_sent(db, ids)


def test_the_local_gateway_keeps_no_copy_of_the_request_it_never_sends(
    client, sender, db, without_session_relay
):
    ids = _initialize(client, sender, 1, 763000000)
    create_notification_orders(db, LocalGateway(), ids)
    with db.transaction() as conn:
        requests = [
            r["order_request"]
            for r in conn.execute(
                "SELECT order_request FROM notification_orders WHERE correspondence_id = %s", ids
            )
        ]
    assert requests == [{}, {}]


def test_the_fan_out_writes_no_event_row_and_takes_each_once(client, sender, db):
    ids = _initialize(client, sender, 2, 764000000)
    with db.transaction() as conn:
        events = [
            r["id"]
            for r in conn.execute(
                "SELECT id FROM correspondence_events WHERE initialization_id = "
                "(SELECT initialization_id FROM correspondences WHERE id = %s)",
                (ids[0],),
            )
        ]
    written = _versions(db, "correspondence_events", "id", events)
    settings = load_event_settings()

    def passed() -> bool:
        while fan_out(db, settings)[1]:
            pass
        with db.transaction() as conn:
            return conn.execute(
                """SELECT (e.xid, e.id) <= (w.position_xid, w.position_id) AS passed
                   FROM correspondence_events e, work_cursors w
                   WHERE w.name = 'correspondence_events' AND e.id = %s""",
                (events[0],),
            ).fetchone()["passed"]

    assert wait_until(passed, 10)
    assert _versions(db, "correspondence_events", "id", events) == written


def test_publishing_writes_no_correspondence_row_and_published_is_the_status_time(client, sender, db):
    [cid] = create(
        client, sender, requestedPublishTime=(datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    )
    written = _versions(db, "correspondences", "id", [uuid.UUID(cid)])

    def published_at() -> datetime | None:
        publish_due(db)  # or the session's workers did
        with db.transaction() as conn:
            row = conn.execute(
                "SELECT status_changed FROM correspondence_statuses WHERE correspondence_id = %s AND status = 2",
                (cid,),
            ).fetchone()
        return row["status_changed"] if row else None

    assert wait_until(lambda: published_at() is not None, 10)
    at = published_at()
    assert at is not None
    assert _versions(db, "correspondences", "id", [uuid.UUID(cid)]) == written
    answer = overview(client, cid, sender).get_json()
    assert answer["status"] == "Published"
    shown = datetime.fromisoformat(answer["published"].replace("Z", "+00:00"))
    assert abs(shown - at) < timedelta(milliseconds=1)


def test_the_sweep_takes_no_row_for_lost_while_messages_wait_in_the_queue(
    client, sender, db, without_session_relay
):
    ids = _initialize(client, sender, 2, 765000000)
    _relay_until_sent(db, ids)  # dispatched, never claimed: in a message still queued, or lost
    queued = Sent()
    relay_outbox(db, queued, undispatched_after=timedelta(hours=1), redispatch_after=timedelta(0), queued=3)
    assert not set(queued) & set(ids)
    assert _versions(db, "notification_outbox", "correspondence_id", ids) != {}
    swept = Sent()
    relay_outbox(db, swept, undispatched_after=timedelta(hours=1), redispatch_after=timedelta(0))
    assert set(ids) <= set(swept)  # the queue is empty: the message was lost
    assert sorted(create_notification_orders(db, LocalGateway(), ids).completed) == sorted(ids)


def test_the_sweep_task_reads_the_depth_of_the_notifications_queue(celery_broker):
    from types import SimpleNamespace

    import redis

    from workers.tasks.notifications import _queued_orders

    name = f"test-depth-{uuid.uuid4().hex[:8]}"  # a queue of this test's own
    app = SimpleNamespace(
        queues=SimpleNamespace(notifications=name), conf=SimpleNamespace(broker_url=celery_broker)
    )
    client = redis.Redis.from_url(celery_broker)
    assert _queued_orders(app) == 0
    client.rpush(name, b"a", b"b")
    try:
        assert _queued_orders(app) == 2
    finally:
        client.delete(name)
    broken = SimpleNamespace(queues=app.queues, conf=SimpleNamespace(broker_url="redis://127.0.0.1:1/0"))
    assert _queued_orders(broken) == 0  # the broker cannot say: the sweep goes on as before
