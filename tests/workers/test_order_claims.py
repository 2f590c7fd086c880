"""Order creation holds no transaction while it calls the gateway: it leases the outbox rows,
commits, calls, then records in a short transaction (issue: workers at scale)."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from app.db.repositories import notifications as notification_repo
from app.usecases.create_notification_orders import OrderPolicy, create_notification_orders
from tests.api.helpers import FULL_NOTIFICATION, ok, org_urn, post
from tests.factories import initialize_request
from tests.workers.test_notification_orders import orders_of, outbox_complete
from workers.gateways.local import LocalGateway


def _initialize(client, sender, n: int, first: int) -> list[uuid.UUID]:
    answer = ok(
        post(
            client,
            initialize_request([org_urn(first + i) for i in range(n)], notification=FULL_NOTIFICATION),
            sender,
        )
    )
    return [uuid.UUID(c["correspondenceId"]) for c in answer["correspondences"]]


class CountingGateway(LocalGateway):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[uuid.UUID] = []

    def create_order(self, order, contacts):
        self.calls.append(order.id)
        return super().create_order(order, contacts)


class LockProbingGateway(LocalGateway):
    """Checks, from a connection of its own, that nothing holds the outbox row or a transaction
    open while the gateway is being called."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.database_url = database_url
        self.locked: list[bool] = []
        self.open_transactions: list[int] = []

    def create_order(self, order, contacts):
        with psycopg.connect(self.database_url, autocommit=True) as probe:
            try:
                probe.execute(
                    "SELECT 1 FROM notification_outbox WHERE correspondence_id = %s FOR UPDATE NOWAIT",
                    (order.correspondence_id,),
                )
                self.locked.append(False)
            except psycopg.errors.LockNotAvailable:
                self.locked.append(True)
            self.open_transactions.append(
                probe.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
                ).fetchone()[0]
            )
        return super().create_order(order, contacts)


def test_no_row_is_locked_and_no_transaction_open_during_gateway_calls(
    client, sender, db, database_url, without_session_relay
):
    ids = _initialize(client, sender, 3, 740000000)
    gateway = LockProbingGateway(database_url)
    result = create_notification_orders(db, gateway, ids)
    assert sorted(result.completed) == sorted(ids) and result.recorded == 6
    assert gateway.locked == [False] * 6
    assert gateway.open_transactions == [0] * 6
    assert outbox_complete(db, [str(i) for i in ids])


def test_a_batch_of_two_initializes_builds_each_correspondence_from_its_own(
    client, sender, db, without_session_relay
):
    """What an Initialize shares is read once per Initialize: each row gets its own back."""
    with_reminder = _initialize(client, sender, 2, 744000000)
    answer = ok(
        post(
            client,
            initialize_request(
                [org_urn(744000100 + i) for i in range(2)],
                notification={**FULL_NOTIFICATION, "sendReminder": False, "emailSubject": "Uten påminnelse"},
            ),
            sender,
        )
    )
    without = [uuid.UUID(c["correspondenceId"]) for c in answer["correspondences"]]
    gateway = CountingGateway()
    result = create_notification_orders(
        db, gateway, [with_reminder[0], without[0], with_reminder[1], without[1]]
    )
    assert result.recorded == 6 and len(result.completed) == 4
    for cid in with_reminder:
        assert sorted(o["is_reminder"] for o in orders_of(db, [str(cid)])) == [False, True]
    for cid in without:
        assert [o["is_reminder"] for o in orders_of(db, [str(cid)])] == [False]


def test_a_leased_row_is_left_alone_until_the_lease_passes(client, sender, db, without_session_relay):
    ids = _initialize(client, sender, 2, 741000000)
    with db.transaction() as conn:  # a worker that claimed the rows and died
        assert set(notification_repo.claim_pending(conn, ids, uuid.uuid4(), 3600)) == set(ids)
    assert create_notification_orders(db, LocalGateway(), ids).recorded == 0
    assert orders_of(db, [str(i) for i in ids]) == []
    with db.transaction() as conn:  # the lease passes
        conn.execute(
            "UPDATE notification_outbox SET claimed_until = now() - interval '1 second' "
            "WHERE correspondence_id = ANY(%s)",
            (ids,),
        )
    result = create_notification_orders(db, LocalGateway(), ids)
    assert result.recorded == 4 and sorted(result.completed) == sorted(ids)


def test_orders_another_worker_recorded_meanwhile_are_not_counted_or_announced_twice(
    client, sender, db, without_session_relay
):
    ids = _initialize(client, sender, 1, 742000000)
    first = create_notification_orders(db, LocalGateway(), ids)
    assert first.recorded == 2
    with db.transaction() as conn:  # as if the completion had been lost: the row, held before, is due again
        conn.execute(
            "INSERT INTO notification_outbox (correspondence_id, lease_owner) SELECT unnest(%s::uuid[]), %s",
            (ids, uuid.uuid4()),
        )
        events_before = conn.execute("SELECT count(*) AS n FROM correspondence_events").fetchone()["n"]
    gateway = CountingGateway()
    again = create_notification_orders(db, gateway, ids, policy=OrderPolicy())
    assert again.recorded == 0 and again.completed == ids
    assert gateway.calls == []  # found recorded: the gateway is not asked twice
    with db.transaction() as conn:
        assert (
            conn.execute("SELECT count(*) AS n FROM correspondence_events").fetchone()["n"] == events_before
        )
    assert len(orders_of(db, [str(i) for i in ids])) == 2


def test_a_retried_row_finds_orders_recorded_under_their_ids_before_migration_0022(
    client, sender, db, without_session_relay
):
    ids = _initialize(client, sender, 1, 743000000)
    gateway = CountingGateway()
    assert create_notification_orders(db, gateway, ids).recorded == 2
    planned = sorted(gateway.calls)
    with db.transaction() as conn:
        orders = conn.execute(
            "SELECT id, recipient_key, is_reminder FROM notification_orders WHERE correspondence_id = %s",
            (ids[0],),
        ).fetchall()
        assert sorted(o["id"] for o in orders) == planned
        # As an older worker recorded it: the main order under its plain uuid5 id, the reminder not
        # yet (its gateway call failed), and the row due again, held by that worker before.
        main = next(o for o in orders if not o["is_reminder"])
        legacy = uuid.uuid5(ids[0], f"{main['recipient_key']}:main")
        conn.execute(
            "DELETE FROM notification_orders WHERE correspondence_id = %s AND is_reminder", (ids[0],)
        )
        conn.execute("UPDATE notification_orders SET id = %s WHERE id = %s", (legacy, main["id"]))
        conn.execute(
            "INSERT INTO notification_outbox (correspondence_id, lease_owner, attempts) VALUES (%s, %s, 1)",
            (ids[0], uuid.UUID(int=0)),
        )
    gateway = CountingGateway()
    result = create_notification_orders(db, gateway, ids)
    assert result.recorded == 1 and result.completed == ids
    reminder = next(o["id"] for o in orders if o["is_reminder"])
    assert gateway.calls == [reminder]  # the main order is not sent twice
    with db.transaction() as conn:
        assert sorted(
            r["id"]
            for r in conn.execute(
                "SELECT id FROM notification_orders WHERE correspondence_id = %s", (ids[0],)
            )
        ) == sorted([legacy, reminder])


@pytest.mark.parametrize(("lease", "renew"), [("20", "5"), ("3", "1")])
def test_the_lease_comes_from_the_worker_settings(lease, renew, monkeypatch):
    from app.config import LeaseTerms, load_settings
    from app.events_settings import load_event_settings

    monkeypatch.setenv("WORKER_LEASE_SECONDS", lease)
    monkeypatch.setenv("WORKER_LEASE_RENEW_SECONDS", renew)
    expected = LeaseTerms(float(lease), float(renew))
    assert load_settings().worker.lease == expected
    assert load_event_settings().lease == expected  # one rule for every leased work


def test_the_default_lease_is_short_and_renewed():
    from app.config import LeaseTerms, load_lease_terms

    assert load_lease_terms() == LeaseTerms(20.0, 5.0)
    assert LeaseTerms().margin == 10.0  # one renewal may be missed; a call out starts with 10 s left


@pytest.mark.parametrize(("lease", "renew"), [(10, 5), (10, 0), (5, 6)])
def test_a_lease_must_outlast_two_renewals(lease, renew):
    from app.config import LeaseTerms

    with pytest.raises(ValueError, match="WORKER_LEASE_SECONDS"):
        LeaseTerms(lease, renew)
