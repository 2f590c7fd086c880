"""Initialize → Published → fetch → read → confirm, and the rules of each step (SPEC.md §3.4–§3.8)."""

from __future__ import annotations

from datetime import timedelta

from app.domain.enums import CorrespondenceStatus as S
from app.usecases.create_notification_orders import create_notification_orders
from app.usecases.deliver_notifications import deliver_due_orders
from tests.api.helpers import FULL_NOTIFICATION, URL, assert_error, details, overview, relayed
from tests.factories import ORG_RECIPIENT, RESERVED_PERSON, iso
from tests.lifecycle.helpers import action, create, publish_now, recipient_headers, statuses_of


def test_full_path_shows_each_status_in_the_details_history(client, sender, tokens, db):
    [cid] = create(client, sender, isConfirmationNeeded=True, dueDateTime=iso(timedelta(days=3)))
    me = recipient_headers(tokens)
    assert overview(client, cid, me).status_code == 404  # not published yet: not visible
    publish_now(db)
    shown = details(client, cid, me).get_json()
    assert shown["status"] == "Published" and shown["content"]["messageTitle"] == "Testmelding"
    assert action(client, cid, "markasread", me).get_json() == cid
    assert action(client, cid, "confirm", me).get_json() == cid
    history = [h["status"] for h in details(client, cid, me).get_json()["statusHistory"]]
    assert history[:5] == ["Initialized", "ReadyForPublish", "Published", "Fetched", "Read"]
    assert history[-2:] == ["Fetched", "Confirmed"] or history[5:] == ["Confirmed", "Fetched"]
    final = details(client, cid, sender).get_json()
    assert final["status"] == "Confirmed" and final["read"] and final["published"]
    assert final["content"]["messageTitle"] == ""  # the sender sees a placeholder once published


def test_read_and_confirm_need_a_fetch_first_and_happen_once(client, sender, tokens, db):
    [cid] = create(client, sender)
    publish_now(db)
    me = recipient_headers(tokens)
    assert_error(action(client, cid, "markasread", me), 400, 1024)
    assert_error(action(client, cid, "confirm", me), 400, 1025)
    assert overview(client, cid, me).status_code == 200
    assert action(client, cid, "markasread", me).status_code == 200
    assert_error(action(client, cid, "markasread", me), 400, 1040)
    assert action(client, cid, "confirm", me).status_code == 200
    assert_error(action(client, cid, "confirm", me), 400, 1041)


def test_another_recipient_or_sender_gets_404_not_403(client, sender, tokens, db):
    [cid] = create(client, sender)
    publish_now(db)
    stranger = recipient_headers(tokens, pid="07827199405")
    other_sender = tokens.headers(org="310654329")
    for headers in (stranger, other_sender):
        assert_error(overview(client, cid, headers), 404, 1001)
        assert_error(details(client, cid, headers), 404, 1001)
        assert_error(action(client, cid, "purge", headers), 404, 1001)
    assert_error(action(client, cid, "markasread", stranger), 404, 1001)


def test_sender_purges_only_before_publish(client, sender, tokens, db):
    first, second = create(client, sender), create(client, sender)
    assert action(client, first[0], "purge", sender).get_json() == first[0]
    assert_error(action(client, first[0], "purge", sender), 400, 1014)
    assert_error(overview(client, first[0], sender), 404, 1001)  # overview hides purged
    assert details(client, first[0], sender).status_code == 200  # details does not
    publish_now(db)
    assert S.Published not in statuses_of(db, first[0])  # purged before publish: never published
    assert_error(action(client, second[0], "purge", sender), 400, 1013)


def test_recipient_purge_needs_confirmation_when_required(client, sender, tokens, db):
    [cid] = create(client, sender, isConfirmationNeeded=True, dueDateTime=iso(timedelta(days=3)))
    publish_now(db)
    me = recipient_headers(tokens)
    overview(client, cid, me)
    assert_error(action(client, cid, "purge", me), 400, 1026)
    action(client, cid, "confirm", me)
    assert action(client, cid, "purge", me).status_code == 200
    assert S.PurgedByRecipient in statuses_of(db, cid)
    assert_error(action(client, cid, "purge", me), 400, 1014)


def test_reserved_recipient_fails_at_publish(client, sender, db):
    ids = create(client, sender, recipients=[ORG_RECIPIENT, RESERVED_PERSON])
    publish_now(db)
    org_view, reserved_view = (details(client, i, sender).get_json() for i in ids)
    assert org_view["status"] == "Published"
    assert reserved_view["status"] == "Failed" and "reserved" in reserved_view["statusText"]


def test_failed_attachment_fails_the_correspondence_at_publish(client, sender, db):
    from tests.api.helpers import insert_attachment

    attachment = insert_attachment(db)
    [cid] = create(client, sender, recipients=[ORG_RECIPIENT])
    with db.transaction() as conn:  # link it, then the attachment fails (e.g. a malware hit)
        conn.execute(
            """INSERT INTO initialization_attachments (initialization_id, attachment_id, created)
                        SELECT initialization_id, %s, now() FROM correspondences WHERE id = %s""",
            (attachment, cid),
        )
        conn.execute(
            """INSERT INTO attachment_statuses (id, attachment_id, status, status_text, status_changed)
                        VALUES (gen_random_uuid(), %s, 4, 'Malware scan failed', now() + interval '1 second')""",
            (attachment,),
        )
    publish_now(db)
    assert details(client, cid, sender).get_json()["status"] == "Failed"


def test_reminder_is_not_sent_for_a_correspondence_read_before_its_send_time(
    client, sender, tokens, db, use_gateway
):
    [cid] = create(client, sender, notification=FULL_NOTIFICATION)
    services = use_gateway()
    import uuid as _uuid

    relayed(db, cid)
    create_notification_orders(db, services.gateway, [_uuid.UUID(cid)], policy=services.order_policy)
    publish_now(db)
    me = recipient_headers(tokens)
    overview(client, cid, me)
    action(client, cid, "markasread", me)
    with db.transaction() as conn:
        conn.execute(
            "UPDATE notification_orders SET requested_send_time = now() - interval '1 second' "
            "WHERE correspondence_id = %s",
            (cid,),
        )
    deliver_due_orders(db)
    shown = overview(client, cid, sender).get_json()["notifications"]
    assert sorted(n["isReminder"] for n in shown) == [False, True]
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT is_reminder, delivery_status FROM notification_orders WHERE correspondence_id = %s",
            (cid,),
        ).fetchall()
    assert {r["is_reminder"]: r["delivery_status"] for r in rows} == {
        False: "Sent",
        True: "SendConditionNotMet",
    }


def test_overview_fetch_is_debounced_details_fetch_is_not(client, sender, tokens, db):
    [cid] = create(client, sender)
    publish_now(db)
    me = recipient_headers(tokens)
    overview(client, cid, me)
    overview(client, cid, me)
    details(client, cid, me)
    details(client, cid, me)
    with db.transaction() as conn:
        n = conn.execute(
            "SELECT count(*) AS n FROM correspondence_fetched WHERE correspondence_id = %s", (cid,)
        ).fetchone()["n"]
    assert n == 3


def test_search_is_not_under_the_correspondence_path(client):
    assert client.get(f"{URL}?resourceId=x&role=Sender").status_code == 401
