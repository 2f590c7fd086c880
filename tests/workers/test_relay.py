"""The outbox relay: committed work reaches the broker off the request thread, nothing lost or doubled."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

from app.logs import request_id_var
from tests.api.helpers import FULL_NOTIFICATION, ok, org_urn, post
from tests.factories import initialize_request
from tests.workers.conftest import wait_until
from workers.relay import start_in_thread


class RecordingBroker:
    """An enqueue function that records what it was given (and can be made to fail)."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[list[uuid.UUID], str | None]] = []
        self.lock = threading.Lock()

    def __call__(self, ids: list[uuid.UUID]) -> None:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise ConnectionError("broker down")
            self.calls.append((list(ids), request_id_var.get()))

    def sent(self) -> Counter:
        with self.lock:
            return Counter(str(i) for ids, _ in self.calls for i in ids)


def undispatched(db, ids: list[str]) -> int:
    with db.transaction() as conn:
        return conn.execute(
            "SELECT count(*) AS n FROM notification_outbox WHERE correspondence_id = ANY(%s::uuid[]) "
            "AND (xid, correspondence_id) > "
            "(SELECT position_xid, position_uuid FROM work_cursors WHERE name = 'notification_outbox')",
            (ids,),
        ).fetchone()["n"]


def initialize(client, sender, recipients: list[str], request_id: str | None = None) -> list[str]:
    headers = {**sender, **({"X-Request-Id": request_id} if request_id else {})}
    answer = ok(post(client, initialize_request(recipients, notification=FULL_NOTIFICATION), headers))
    return [c["correspondenceId"] for c in answer["correspondences"]]


def test_the_request_publishes_nothing_the_relay_does(
    client, sender, db, database_url, without_session_relay
):
    ids = initialize(client, sender, [org_urn(720000000 + i) for i in range(3)])
    assert undispatched(db, ids) == 3  # committed, and nothing on the request thread sent it

    broker = RecordingBroker()
    relay, thread = start_in_thread(database_url, broker, idle_seconds=30, poll_seconds=0.05)
    try:
        assert wait_until(lambda: set(broker.sent()) >= set(ids), 10)  # rows from before it started
        later = initialize(client, sender, [org_urn(720000010)], request_id="rid-relay-1")
        assert wait_until(lambda: later[0] in broker.sent(), 10), "the relay's next look did not find it"
    finally:
        relay.stop()
        thread.join(10)
    assert all(n == 1 for n in broker.sent().values())  # each exactly once
    assert undispatched(db, ids + later) == 0
    assert ([str(i) for i in broker.calls[-1][0]], broker.calls[-1][1]) == (later, "rid-relay-1")


def test_a_broker_outage_keeps_the_rows_until_it_is_back(
    client, sender, db, database_url, without_session_relay
):
    broker = RecordingBroker(failures=3)
    relay, thread = start_in_thread(database_url, broker, idle_seconds=0.2, max_backoff_seconds=0.2)
    try:
        ids = initialize(client, sender, [org_urn(721000000 + i) for i in range(5)])
        assert wait_until(lambda: broker.failures == 0 and set(broker.sent()) == set(ids), 15)
    finally:
        relay.stop()
        thread.join(10)
    assert all(n == 1 for n in broker.sent().values())
    assert undispatched(db, ids) == 0


def test_two_relays_never_send_a_row_twice(client, sender, db, database_url, without_session_relay):
    broker = RecordingBroker()
    relays = [start_in_thread(database_url, broker, idle_seconds=0.05) for _ in range(2)]
    try:
        ids = [
            i
            for n in range(20)
            for i in initialize(client, sender, [org_urn(722000000 + 2 * n), org_urn(722000001 + 2 * n)])
        ]
        assert wait_until(lambda: set(broker.sent()) == set(ids), 15)
    finally:
        for relay, thread in relays:
            relay.stop()
            thread.join(10)
    assert sorted(broker.sent().values()) == [1] * len(ids)


def test_one_message_carries_several_initializes_with_all_their_request_ids(
    client, sender, db, database_url, without_session_relay
):
    first = initialize(client, sender, [org_urn(723000000)], request_id="rid-batch-a")
    second = initialize(client, sender, [org_urn(723000001), org_urn(723000002)], request_id="rid-batch-b")
    broker = RecordingBroker()
    relay, thread = start_in_thread(database_url, broker, idle_seconds=30)
    try:
        assert wait_until(lambda: set(broker.sent()) >= set(first + second), 10)
    finally:
        relay.stop()
        thread.join(10)
    ours = [
        (sorted(map(str, ids)), rid) for ids, rid in broker.calls if set(map(str, ids)) & set(first + second)
    ]
    assert ours == [(sorted(first + second), "rid-batch-a,rid-batch-b")]
