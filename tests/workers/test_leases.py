"""Leases renewed while the work goes on (issue 28): a live worker keeps its rows however long its
gateway calls take, a dead one loses them once its lease passes, and a worker whose rows were taken
over neither calls out for them nor records them. The same rule for order creation and event delivery."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from app.config import LeaseTerms
from app.db.repositories import events as events_repo
from app.db.repositories import notifications as notification_repo
from app.events_settings import EventSettings
from app.usecases.create_notification_orders import OrderPolicy, create_notification_orders
from app.usecases.deliver_events import deliver_due
from app.usecases.dispatch_notification_orders import dispatch_abandoned, relay_outbox
from app.usecases.lease import EVENT_DELIVERIES, OUTBOX, Lease
from tests.api.helpers import FULL_NOTIFICATION, ok, org_urn, post
from tests.factories import initialize_request
from tests.workers.test_notification_orders import orders_of
from workers.gateways.local import LocalGateway
from workers.gateways.webhooks import PostResult

# Short enough for a test to outlast it several times over.
QUICK = LeaseTerms(seconds=1.5, renew_seconds=0.3)


@pytest.fixture(autouse=True)
def _finish_outbox_rows(db):
    """Later tests find no unfinished outbox row of these (some are left held by a stand-in worker)."""
    made.clear()
    yield
    with db.transaction() as conn:
        conn.execute("DELETE FROM notification_outbox WHERE correspondence_id = ANY(%s)", (made,))


made: list[uuid.UUID] = []


def _initialize(client, sender, n: int, first: int) -> list[uuid.UUID]:
    answer = ok(
        post(
            client,
            initialize_request([org_urn(first + i) for i in range(n)], notification=FULL_NOTIFICATION),
            sender,
        )
    )
    ids = [uuid.UUID(c["correspondenceId"]) for c in answer["correspondences"]]
    made.extend(ids)
    return ids


def _outbox(db, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    with db.transaction() as conn:
        rows = conn.execute(
            """SELECT correspondence_id, claimed_until, lease_owner, completed_at, dispatched_at, retry_at,
                      attempts FROM notification_outbox WHERE correspondence_id = ANY(%s)""",
            (ids,),
        ).fetchall()
    return {r["correspondence_id"]: r for r in rows}


class SlowGateway(LocalGateway):
    """The local gateway, `delay` seconds per order, running `during(order)` before each answer."""

    def __init__(self, delay: float, during=None) -> None:
        super().__init__()
        self.delay = delay
        self.during = during
        self.called: list[uuid.UUID] = []

    def create_order(self, order, contacts):
        self.called.append(order.correspondence_id)
        if self.during is not None:
            self.during(order)
        time.sleep(self.delay)
        return super().create_order(order, contacts)


def test_a_live_worker_keeps_its_rows_however_long_its_calls_take(client, sender, db, without_session_relay):
    ids = _initialize(client, sender, 3, 743000000)
    ends: list[Any] = []
    taken_by_others: list[int] = []

    def probe(order) -> None:
        ends.append(_outbox(db, [order.correspondence_id])[order.correspondence_id]["claimed_until"])
        with db.transaction() as conn:  # another worker, with a message of the same rows
            taken_by_others.append(len(notification_repo.claim_pending(conn, ids, uuid.uuid4(), 60)))

    gateway = SlowGateway(0.4, probe)  # 6 orders: 2.4 s, the lease 1.5 s
    started = time.monotonic()
    result = create_notification_orders(db, gateway, ids, policy=OrderPolicy(lease=QUICK))
    assert time.monotonic() - started > 1.5 * QUICK.seconds
    assert sorted(result.completed) == sorted(ids) and result.recorded == 6 and not result.released
    assert taken_by_others == [0] * 6  # held all along
    assert ends == sorted(ends) and ends[-1] > ends[0]  # renewed while it worked
    assert _outbox(db, ids) == {}  # completed: the statement that recorded them deleted the rows


def test_a_row_taken_over_meanwhile_gets_no_more_calls_and_is_left_to_its_new_holder(
    client, sender, db, without_session_relay
):
    ids = _initialize(client, sender, 3, 744000000)
    other = uuid.uuid4()
    victim: list[uuid.UUID] = []

    def take_over(order) -> None:
        if victim:
            return
        # Another worker takes a row after this one's lease passed (it was not renewed in time).
        victim.append(next(i for i in ids if i != order.correspondence_id))
        with db.transaction() as conn:
            conn.execute(
                "UPDATE notification_outbox SET lease_owner = %s, claimed_until = now() + interval '1 hour' "
                "WHERE correspondence_id = %s",
                (other, victim[0]),
            )

    gateway = SlowGateway(0.5, take_over)  # the heartbeat (every 0.3 s) sees it during the first call
    result = create_notification_orders(db, gateway, ids, policy=OrderPolicy(lease=QUICK))
    assert victim[0] not in gateway.called  # no call for a row another worker holds
    assert result.released == victim and sorted(result.completed) == sorted(set(ids) - set(victim))
    assert result.recorded == 4 and orders_of(db, [str(victim[0])]) == []
    row = _outbox(db, victim)[victim[0]]
    assert row["lease_owner"] == other and row["completed_at"] is None  # untouched: its holder's


def test_a_row_taken_over_before_the_record_step_is_not_recorded(client, sender, db, without_session_relay):
    ids = _initialize(client, sender, 2, 745000000)
    other = uuid.uuid4()
    calls = 0

    def take_over_at_the_end(order) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:  # the last call: the heartbeat (every 20 s) cannot notice before the record step
            with db.transaction() as conn:
                conn.execute(
                    "UPDATE notification_outbox SET lease_owner = %s WHERE correspondence_id = %s",
                    (other, order.correspondence_id),
                )

    gateway = SlowGateway(0, take_over_at_the_end)
    result = create_notification_orders(db, gateway, ids, policy=OrderPolicy(lease=LeaseTerms(60, 20)))
    lost = gateway.called[-1]
    assert result.released == [lost] and result.completed == [i for i in ids if i != lost]
    assert orders_of(db, [str(lost)]) == [] and len(orders_of(db, [str(i) for i in result.completed])) == 2
    assert _outbox(db, [lost])[lost]["completed_at"] is None


def test_a_lease_in_doubt_stops_the_calls_and_the_rows_go_back_at_once(
    client, sender, db, without_session_relay, monkeypatch
):
    ids = _initialize(client, sender, 3, 746000000)
    monkeypatch.setattr(Lease, "renew", lambda self: None)  # the heartbeat cannot reach the database
    gateway = SlowGateway(0.3)  # past 0.6 s, less than the margin (0.9 s of 1.5) is surely left
    result = create_notification_orders(db, gateway, ids, policy=OrderPolicy(lease=QUICK))
    assert result.released and len(result.released) + len(result.completed) == 3
    assert len(gateway.called) <= 4
    rows = _outbox(db, result.released)
    for i in result.released:
        # No attempt counted, no Failure recorded: the relay sends the row again at once.
        assert rows[i]["claimed_until"] is None and rows[i]["dispatched_at"] is None
        assert rows[i]["attempts"] == 0 and rows[i]["retry_at"] is not None  # due again at once
    monkeypatch.undo()
    again = create_notification_orders(db, LocalGateway(), result.released)
    assert sorted(again.completed) == sorted(result.released)
    assert len(orders_of(db, [str(i) for i in ids])) == 6


def test_renewal_is_only_where_the_lease_is_still_ours(client, sender, db, without_session_relay):
    ids = _initialize(client, sender, 3, 747000000)
    lease = Lease(db.url, OUTBOX, LeaseTerms(60, 20))
    with db.transaction() as conn:
        assert len(notification_repo.claim_pending(conn, ids, lease.token, 60)) == 3
        conn.execute(  # one taken over, one finished (its lease ended)
            "UPDATE notification_outbox SET lease_owner = %s WHERE correspondence_id = %s",
            (uuid.uuid4(), ids[0]),
        )
        notification_repo.mark_completed(conn, [ids[1]], lease.token)
    before = _outbox(db, ids)
    with lease.renewing(ids):
        lease.renew()
    after = _outbox(db, ids)
    assert lease.lost == {ids[0], ids[1]} and not lease.holds(ids[0]) and lease.holds(ids[2])
    assert after[ids[2]]["claimed_until"] > before[ids[2]]["claimed_until"]
    assert after[ids[0]]["claimed_until"] == before[ids[0]]["claimed_until"]
    assert ids[1] not in after  # finished: its row is gone
    lease.release([ids[2]])
    assert not lease.holds(ids[2])


def test_a_failed_renewal_is_logged_and_the_lease_runs_out(caplog):
    lease = Lease("postgresql://127.0.0.1:1/nowhere", OUTBOX, QUICK)
    key = uuid.uuid4()
    with lease.renewing([key]):
        assert lease.holds(key)
        lease.renew()
    assert "could not renew the lease" in caplog.text
    assert lease.renewals == 0
    time.sleep(QUICK.seconds - QUICK.margin)
    assert not lease.holds(key)


def test_the_heartbeat_renews_on_its_own(client, sender, db, without_session_relay):
    ids = _initialize(client, sender, 1, 748000000)
    lease = Lease(db.url, OUTBOX, QUICK)
    with db.transaction() as conn:
        notification_repo.claim_pending(conn, ids, lease.token, QUICK.seconds)
    with lease.renewing(ids):
        time.sleep(2 * QUICK.seconds)
        assert lease.holds(ids[0])
        with db.transaction() as conn:  # still held: nobody else may take it
            assert notification_repo.claim_pending(conn, ids, uuid.uuid4(), 60) == {}
    assert lease.renewals >= 5


def _dispatched_then_claimed(db, ids: list[uuid.UUID], lease_seconds: float) -> None:
    with db.transaction() as conn:
        _, end = notification_repo.take_new(conn, 1000)
        if end is not None:
            notification_repo.advance(conn, end)
        conn.execute(
            "UPDATE notification_outbox SET dispatched_at = now() - interval '1 second' "
            "WHERE correspondence_id = ANY(%s)",
            (ids,),
        )
        assert len(notification_repo.claim_pending(conn, ids, uuid.uuid4(), lease_seconds)) == len(ids)


class Sent(list):
    def __call__(self, ids: list[uuid.UUID]) -> None:
        self.extend(ids)


def test_the_relay_sends_again_what_a_dead_worker_held_once_its_lease_passed(
    client, sender, db, without_session_relay
):
    dead = _initialize(client, sender, 2, 749000000)
    alive = _initialize(client, sender, 1, 749000010)
    _dispatched_then_claimed(db, dead, 0.5)  # a worker that died right after claiming
    _dispatched_then_claimed(db, alive, 60)  # one that is working (its heartbeat renews)
    sent = Sent()
    assert dispatch_abandoned(db, sent) == 0  # the lease has not passed yet
    time.sleep(0.6)
    assert dispatch_abandoned(db, sent) == 2 and set(sent) == set(dead)
    assert dispatch_abandoned(db, sent) == 0  # once: it was dispatched after the lease passed
    # Beat's sweep applies the same rule, and its re-dispatch window skips rows under a live lease.
    _dispatched_then_claimed(db, dead, 0.3)
    time.sleep(0.4)
    swept = Sent()
    relay_outbox(db, swept, undispatched_after=timedelta(hours=1), redispatch_after=timedelta(0))
    assert set(swept) >= set(dead) and not set(swept) & set(alive)
    # A redelivered message finds the rows free and creates the orders.
    result = create_notification_orders(db, LocalGateway(), dead)
    assert sorted(result.completed) == sorted(dead)


# -- event deliveries: the same lease -------------------------------------------------------------------


@pytest.fixture()
def deliveries(db):
    """Two due deliveries of an active subscription of this test (deleted afterwards)."""
    with db.transaction() as conn:
        conn.execute("UPDATE event_subscriptions SET deleted = now() WHERE deleted IS NULL")
        sid = events_repo.create_subscription(
            conn,
            end_point="https://receiver.invalid/hook",
            resource_filter="urn:altinn:resource:lease-test",
            type_filter=None,
            subject_filter=None,
            consumer="urn:altinn:organization:identifier-no:991825827",
            created_by="sender",
            secret="whsec_dGVzdA==",
        )
        conn.execute("UPDATE event_subscriptions SET status = 'active' WHERE id = %s", (sid,))
        events_repo.insert_deliveries(
            conn, [(sid, uuid.uuid4(), "no.altinn.correspondence.test", {"n": n}) for n in range(2)]
        )
        ids = [
            r["id"]
            for r in conn.execute("SELECT id FROM event_deliveries WHERE subscription_id = %s", (sid,))
        ]
    yield ids
    with db.transaction() as conn:
        conn.execute("UPDATE event_subscriptions SET deleted = now() WHERE id = %s", (sid,))


def _delivery_rows(db, ids: list[int]) -> dict[int, dict[str, Any]]:
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT id, locked_until, lease_owner, delivered_at, attempts FROM event_deliveries WHERE id = ANY(%s)",
            (ids,),
        ).fetchall()
    return {r["id"]: r for r in rows}


def test_a_slow_post_keeps_its_delivery_and_another_scan_takes_nothing(db, deliveries):
    settings = replace(EventSettings(), lease=QUICK, per_endpoint=10)
    other_scans: list[int] = []

    def slow_post(url, secret, event, **_: Any) -> PostResult:
        time.sleep(1.0)
        with db.transaction() as conn:
            other_scans.append(len(events_repo.claim_deliveries(conn, 10, 10, uuid.uuid4(), 60)))
        time.sleep(1.0)  # 2 s in all, the lease 1.5 s
        return PostResult(200)

    result = deliver_due(db, slow_post, settings)
    assert result.delivered == 2 and not result.released
    assert other_scans == [0, 0]
    assert all(r["delivered_at"] and r["attempts"] == 1 for r in _delivery_rows(db, deliveries).values())


def test_a_delivery_taken_over_mid_post_is_recorded_by_its_new_holder_only(db, deliveries):
    settings = replace(EventSettings(), lease=LeaseTerms(60, 20), per_endpoint=10)
    other = uuid.uuid4()
    first = threading.Event()

    def post_then_lose(url, secret, event, **_: Any) -> PostResult:
        if not first.is_set():
            first.set()
            with db.transaction() as conn:
                conn.execute(
                    "UPDATE event_deliveries SET lease_owner = %s WHERE id = ANY(%s) AND payload->>'n' = '0'",
                    (other, deliveries),
                )
        return PostResult(500, "boom")

    result = deliver_due(db, post_then_lose, settings)
    assert result.retried == 1 and result.released == 1
    rows = _delivery_rows(db, deliveries)
    lost = [r for r in rows.values() if r["lease_owner"] == other]
    assert len(lost) == 1 and lost[0]["locked_until"] is not None  # still its new holder's


def test_a_delivery_whose_lease_is_in_doubt_is_not_posted(db, deliveries, monkeypatch):
    settings = replace(EventSettings(), lease=QUICK, per_endpoint=10)
    monkeypatch.setattr(Lease, "renew", lambda self: None)
    posted: list[Any] = []

    def slow_post(url, secret, event, **_: Any) -> PostResult:
        posted.append(event)
        time.sleep(1.0)  # past the margin: the next delivery is not posted
        return PostResult(200)

    result = deliver_due(db, slow_post, settings)  # no pool: one after the other
    assert len(posted) == 1 and result.delivered == 1 and result.released == 1
    left = [r for r in _delivery_rows(db, deliveries).values() if r["delivered_at"] is None]
    assert len(left) == 1 and left[0]["locked_until"] is None  # the next scan takes it at once
    assert EVENT_DELIVERIES.table == "event_deliveries"
