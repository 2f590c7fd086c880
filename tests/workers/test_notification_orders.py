"""Notification orders created by a real Celery worker on the real Redis and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from app.usecases.create_notification_orders import create_notification_orders
from tests.api.helpers import FULL_NOTIFICATION, ok, overview, post, relayed
from tests.factories import NO_CONTACT_PERSON, ORG_RECIPIENT, RESERVED_PERSON, initialize_request
from tests.unit.notification_data import expected_order_id
from tests.workers.conftest import ScriptedNotifications, wait_until
from workers.gateways.altinn import AltinnNotificationsGateway

EMAIL_AND_SMS = dict(FULL_NOTIFICATION, notificationChannel="EmailAndSms")


def orders_of(db, correspondence_ids):
    with db.transaction() as conn:
        return conn.execute(
            """SELECT id, correspondence_id, is_reminder, status, addresses, failure_reason
               FROM notification_orders WHERE correspondence_id = ANY(%s::uuid[])
               ORDER BY correspondence_id, is_reminder""",
            ([str(i) for i in correspondence_ids],),
        ).fetchall()


def outbox_complete(db, correspondence_ids) -> bool:
    with db.transaction() as conn:
        row = conn.execute(
            """SELECT count(*) AS n FROM notification_outbox
               WHERE correspondence_id = ANY(%s::uuid[])""",
            ([str(i) for i in correspondence_ids],),
        ).fetchone()
    return row["n"] == 0


def test_prefer_wait_returns_orders_as_the_register_dictates(client, sender, worker):
    body = initialize_request(
        [ORG_RECIPIENT, NO_CONTACT_PERSON, RESERVED_PERSON],
        notification=EMAIL_AND_SMS,
        ignoreReservation=True,
    )
    resp = post(client, body, {**sender, "Prefer": "wait=10"})
    answer = ok(resp)
    assert resp.headers["Preference-Applied"] == "wait=10"
    by_recipient = {c["recipient"]: c for c in answer["correspondences"]}
    assert by_recipient[RESERVED_PERSON]["status"] == "ReadyForPublish"  # ignoreReservation
    for recipient, expected in [
        (ORG_RECIPIENT, "Success"),
        (NO_CONTACT_PERSON, "MissingContact"),
        (RESERVED_PERSON, "Success"),
    ]:
        orders = by_recipient[recipient]["notifications"]
        assert sorted((o["isReminder"], o["status"]) for o in orders) == [(False, expected), (True, expected)]
        # order ids: the correspondence's time, then uuid5(correspondence id, plan key + phase)
        corr_id = uuid.UUID(by_recipient[recipient]["correspondenceId"])
        plan_key = ("org:" if recipient == ORG_RECIPIENT else "nin:") + recipient.rsplit(":", 1)[1]
        assert {o["orderId"] for o in orders} == {
            str(expected_order_id(corr_id, f"{plan_key}:{phase}")) for phase in ("main", "reminder")
        }
    shown = overview(client, by_recipient[ORG_RECIPIENT]["correspondenceId"], sender).get_json()
    main = next(n for n in shown["notifications"] if not n["isReminder"])
    assert main["status"] == "Success"
    assert sorted(main["addresses"]) == ["+4798765432", "post@testbedrift.no"]
    assert "requestedSendTime" not in main  # removed from Altinn's notification model (#1780)


def test_without_prefer_notifications_are_null_and_orders_follow(client, sender, worker, db):
    answer = ok(post(client, initialize_request([ORG_RECIPIENT], notification=FULL_NOTIFICATION), sender))
    assert answer["correspondences"][0]["notifications"] is None
    ids = [answer["correspondences"][0]["correspondenceId"]]
    assert wait_until(lambda: outbox_complete(db, ids), 10)
    assert [(o["is_reminder"], o["status"]) for o in orders_of(db, ids)] == [
        (False, "Success"),
        (True, "Success"),
    ]


def test_reserved_recipient_among_several_gets_no_orders(client, sender, worker, db):
    body = initialize_request([ORG_RECIPIENT, RESERVED_PERSON], notification=FULL_NOTIFICATION)
    answer = ok(post(client, body, {**sender, "Prefer": "wait=10"}))
    reserved = next(c for c in answer["correspondences"] if c["recipient"] == RESERVED_PERSON)
    assert reserved["status"] == "Reserved"
    assert reserved["notifications"] == []


def test_custom_email_recipient_is_its_own_order_and_org_duplicates_are_dropped(client, sender, worker):
    notification = dict(
        FULL_NOTIFICATION,
        sendReminder=False,
        customRecipients=[{"emailAddress": "post@testbedrift.no"}, {"emailAddress": "x@ekstern.no"}],
    )
    answer = ok(
        post(
            client,
            initialize_request([ORG_RECIPIENT], notification=notification),
            {**sender, "Prefer": "wait=10"},
        )
    )
    orders = answer["correspondences"][0]["notifications"]
    # the organization order, and x@ekstern.no; post@testbedrift.no is already reached by the org order
    assert len(orders) == 2 and all(o["status"] == "Success" for o in orders)


def test_a_duplicated_task_never_records_a_second_order(client, sender, db, use_gateway):
    answer = ok(post(client, initialize_request([ORG_RECIPIENT], notification=FULL_NOTIFICATION), sender))
    cid = uuid.UUID(answer["correspondences"][0]["correspondenceId"])
    services = use_gateway()
    relayed(db, cid)
    first = create_notification_orders(db, services.gateway, [cid], policy=services.order_policy)
    second = create_notification_orders(db, services.gateway, [cid], policy=services.order_policy)
    assert first.recorded == 2 and second.recorded == 0
    assert len(orders_of(db, [cid])) == 2


@pytest.fixture()
def notifications_server():
    servers: list[ScriptedNotifications] = []

    def start(replies):
        server = ScriptedNotifications(replies)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


CREATED = {
    "notificationOrderId": "6c4a1f0e-9f4e-4f8e-9d55-0c1a2b3c4d5e",
    "notification": {"shipmentId": "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b", "reminders": []},
}
ONE_ORDER = dict(FULL_NOTIFICATION, sendReminder=False)


def test_altinn_gateway_failing_twice_then_succeeding_yields_one_success(
    client, sender, db, broker_url, use_gateway, worker, notifications_server
):
    """Retries go through the outbox (retry_at), on either broker."""
    server = notifications_server([(500, {}), (503, {}), (201, CREATED)])
    use_gateway(AltinnNotificationsGateway(server.url, timeout=2), max_attempts=5)
    answer = ok(post(client, initialize_request([ORG_RECIPIENT], notification=ONE_ORDER), sender))
    ids = [answer["correspondences"][0]["correspondenceId"]]
    assert wait_until(lambda: outbox_complete(db, ids), 15)
    orders = orders_of(db, ids)
    assert [(o["is_reminder"], o["status"]) for o in orders] == [(False, "Success")]
    assert len(server.requests) == 3
    sent = server.requests[-1]
    assert sent["path"] == "/notifications/api/v1/future/orders"
    assert sent["body"]["recipient"]["recipientOrganization"]["orgNumber"] == "313721779"
    assert sent["body"]["idempotencyId"] == str(orders[0]["id"])


def test_altinn_gateway_always_failing_yields_failure(
    client, sender, db, broker_url, use_gateway, worker, notifications_server
):
    server = notifications_server([(500, {})])
    use_gateway(AltinnNotificationsGateway(server.url, timeout=2), max_attempts=3)
    answer = ok(post(client, initialize_request([ORG_RECIPIENT], notification=ONE_ORDER), sender))
    ids = [answer["correspondences"][0]["correspondenceId"]]
    assert wait_until(lambda: outbox_complete(db, ids), 15)
    assert [o["status"] for o in orders_of(db, ids)] == ["Failure"]
    assert len(server.requests) == 3


def test_altinn_gateway_rejected_order_fails_without_retry(
    client, sender, db, use_gateway, worker, notifications_server
):
    server = notifications_server([(422, {"title": "invalid order"})])
    use_gateway(AltinnNotificationsGateway(server.url, timeout=2), max_attempts=5)
    answer = ok(post(client, initialize_request([ORG_RECIPIENT], notification=ONE_ORDER), sender))
    ids = [answer["correspondences"][0]["correspondenceId"]]
    assert wait_until(lambda: outbox_complete(db, ids), 15)
    orders = orders_of(db, ids)
    assert [o["status"] for o in orders] == ["Failure"] and "422" in orders[0]["failure_reason"]
    assert len(server.requests) == 1


def test_altinn_gateway_failed_recipient_lookup_is_missing_contact(
    client, sender, db, use_gateway, worker, notifications_server
):
    server = notifications_server([(201, dict(CREATED, recipientLookup={"status": "Failed"}))])
    use_gateway(AltinnNotificationsGateway(server.url, timeout=2))
    answer = ok(
        post(
            client,
            initialize_request([ORG_RECIPIENT], notification=ONE_ORDER),
            {**sender, "Prefer": "wait=10"},
        )
    )
    assert [o["status"] for o in answer["correspondences"][0]["notifications"]] == ["MissingContact"]


def test_the_answer_has_the_documented_shape(client, sender, worker):
    """The Initialize answer is written without the schema (speed): it must be what the schema writes."""
    from app.domain.enums import CorrespondenceStatus
    from app.schemas.responses import InitializeCorrespondencesResponseSchema

    body = ok(
        post(
            client,
            initialize_request([ORG_RECIPIENT, RESERVED_PERSON], notification=FULL_NOTIFICATION),
            {**sender, "Prefer": "wait=10"},
        )
    )
    as_loaded = {
        "correspondences": [
            {
                "correspondence_id": uuid.UUID(c["correspondenceId"]),
                "status": CorrespondenceStatus[c["status"]],
                "recipient": c["recipient"],
                "notifications": None
                if c["notifications"] is None
                else [
                    {
                        "order_id": uuid.UUID(n["orderId"]),
                        "is_reminder": n["isReminder"],
                        "status": n["status"],
                    }
                    for n in c["notifications"]
                ],
            }
            for c in body["correspondences"]
        ],
        "attachment_ids": [uuid.UUID(i) for i in body["attachmentIds"]],
    }
    assert InitializeCorrespondencesResponseSchema().dump(as_loaded) == body
    assert [c["status"] for c in body["correspondences"]] == ["ReadyForPublish", "Reserved"]
    assert (
        len(body["correspondences"][0]["notifications"]) == 2
        and body["correspondences"][1]["notifications"] == []
    )


def test_waiters_past_the_bound_are_answered_at_once_without_preference_applied(app, client, sender, db):
    """`Prefer: wait` holds a slot while it waits; with every slot taken the answer comes at once."""
    slots = app.extensions["correspondence"].waiters
    taken = 0
    while slots.acquire(blocking=False):  # every slot busy, as with that many slow waiters
        taken += 1
    try:
        resp = post(
            client,
            initialize_request([ORG_RECIPIENT], notification=FULL_NOTIFICATION),
            {**sender, "Prefer": "wait=10"},
        )
        assert resp.status_code == 200 and "Preference-Applied" not in resp.headers
        assert resp.get_json()["correspondences"][0]["notifications"] is None
    finally:
        for _ in range(taken):
            slots.release()
    assert taken == 16  # PREFER_WAIT_MAX_WAITERS' default
