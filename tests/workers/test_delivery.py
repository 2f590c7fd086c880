"""Sending at send time: reminders only while unread; nothing for purged/failed; wait for publish."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.domain.enums import CorrespondenceStatus as S
from app.usecases.create_notification_orders import create_notification_orders
from app.usecases.deliver_notifications import deliver_due_orders
from tests.api.helpers import FULL_NOTIFICATION, URL, ok, post, relayed
from tests.factories import ORG_RECIPIENT, initialize_request

CHECK = "altinn:system/notifications.condition.check"


def new_correspondence_with_orders(client, sender, db, use_gateway) -> uuid.UUID:
    answer = ok(post(client, initialize_request([ORG_RECIPIENT], notification=FULL_NOTIFICATION), sender))
    cid = uuid.UUID(answer["correspondences"][0]["correspondenceId"])
    services = use_gateway()
    relayed(db, cid)
    create_notification_orders(db, services.gateway, [cid], policy=services.order_policy)
    with db.transaction() as conn:  # both orders due now
        conn.execute(
            "UPDATE notification_orders SET requested_send_time = now() - interval '1 second' "
            "WHERE correspondence_id = %s",
            (cid,),
        )
    return cid


def add_status(db, cid: uuid.UUID, status: S) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO correspondence_statuses (id, correspondence_id, status, status_text, status_changed) "
            "VALUES (%s, %s, %s, %s, %s)",
            (uuid.uuid4(), cid, int(status), status.name, datetime.now(UTC)),
        )


def delivery_of(db, cid: uuid.UUID) -> dict[bool, str | None]:
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT is_reminder, delivery_status FROM notification_orders WHERE correspondence_id = %s",
            (cid,),
        ).fetchall()
    return {r["is_reminder"]: r["delivery_status"] for r in rows}


def test_orders_wait_until_the_correspondence_is_published(client, sender, db, use_gateway):
    cid = new_correspondence_with_orders(client, sender, db, use_gateway)
    deliver_due_orders(db)
    assert delivery_of(db, cid) == {False: None, True: None}
    add_status(db, cid, S.Published)
    deliver_due_orders(db)
    assert delivery_of(db, cid) == {False: "Sent", True: "Sent"}


def test_reminder_is_not_sent_for_a_correspondence_read_before_its_send_time(client, sender, db, use_gateway):
    cid = new_correspondence_with_orders(client, sender, db, use_gateway)
    add_status(db, cid, S.Published)
    add_status(db, cid, S.Read)
    deliver_due_orders(db)
    assert delivery_of(db, cid) == {False: "Sent", True: "SendConditionNotMet"}


def test_nothing_is_sent_for_a_purged_correspondence(client, sender, db, use_gateway):
    cid = new_correspondence_with_orders(client, sender, db, use_gateway)
    add_status(db, cid, S.PurgedByAltinn)
    deliver_due_orders(db)
    assert delivery_of(db, cid) == {False: "SendConditionNotMet", True: "SendConditionNotMet"}


def test_condition_endpoints(client, sender, tokens, db, use_gateway):
    cid = new_correspondence_with_orders(client, sender, db, use_gateway)
    checker = tokens.headers(scopes=(CHECK,))
    main, reminder = f"{URL}/{cid}/notification/check/main", f"{URL}/{cid}/notification/check"
    assert client.get(main).status_code == 401
    assert client.get(main, headers=sender).status_code == 403
    assert client.get(main, headers=checker).get_json() == {"sendNotification": False}  # unpublished
    add_status(db, cid, S.Published)
    assert client.get(main, headers=checker).get_json() == {"sendNotification": True}
    assert client.get(reminder, headers=checker).get_json() == {"sendNotification": True}
    add_status(db, cid, S.Read)
    assert client.get(main, headers=checker).get_json() == {"sendNotification": True}
    assert client.get(reminder, headers=checker).get_json() == {"sendNotification": False}
    unknown = f"{URL}/{uuid.uuid4()}/notification/check"
    assert client.get(unknown, headers=checker).get_json() == {"sendNotification": False}
