"""Events as Altinn sends them (docs/sending.md, "Events to subscribers"): nothing lost while a subscription
waits for its validation, Altinn's subjects (recipients learn nothing before publication), the
fan-out checking again who may see what, and a failed validation that says so."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from app.db.repositories.access import upsert_access
from app.domain.access import AccessGrant
from tests.api.helpers import URL, ok
from tests.conftest import READ, SENDER_ORG
from tests.events.conftest import EVENTS_URL, deliver, subscribe, subscribe_active
from tests.factories import ORG_RECIPIENT, PERSON_RECIPIENT
from tests.lifecycle.helpers import PERSON_PID, action, create, publish_now
from tests.workers.conftest import wait_until

SENDER_URN = f"urn:altinn:organization:identifier-no:{SENDER_ORG}"
VALIDATION = "platform.events.validatesubscription"


def of(receiver, ids, suffix=None):
    return [
        r["event"] for r in receiver.events(suffix, ok_only=True) if r["event"].get("resourceinstance") in ids
    ]


def test_events_while_validation_is_slow_are_all_delivered(client, sender, receiver, db):
    answered = {"validation": 0}

    def answer(event):
        if event.get("type") == VALIDATION:
            answered["validation"] += 1
            return 503 if answered["validation"] < 3 else 200  # validated at the third try
        return 200

    receiver.answer = answer
    body = subscribe(client, sender, receiver)
    ids = create(client, sender, [ORG_RECIPIENT, PERSON_RECIPIENT])  # while the subscription is pending
    deliver(db, budget=1.0)
    assert client.get(f"{EVENTS_URL}/{body['id']}", headers=sender).get_json()["status"] == "pending"
    assert of(receiver, ids) == []  # nothing before the subscription is validated
    assert wait_until(lambda: (deliver(db, budget=1.0) and False) or len(of(receiver, ids)) == 2, 30, 0.3)
    assert client.get(f"{EVENTS_URL}/{body['id']}", headers=sender).get_json()["status"] == "active"
    assert sorted(e["resourceinstance"] for e in of(receiver, ids, "correspondenceinitialized")) == sorted(
        ids
    )


def test_a_recipient_subscription_learns_at_publication_and_not_before(client, sender, tokens, receiver, db):
    me = tokens.headers(org=None, pid=PERSON_PID, scopes=(READ,))
    subscribe_active(client, me, receiver, db)
    publish_at = datetime.now(UTC) + timedelta(seconds=3)
    [cid] = create(client, sender, [PERSON_RECIPIENT], requestedPublishTime=publish_at.isoformat())
    publish_now(db)  # not due yet
    deliver(db)
    assert of(receiver, [cid]) == []  # initialized, notifications: the sender's, not the recipient's
    time.sleep(max((publish_at - datetime.now(UTC)).total_seconds(), 0) + 0.2)
    publish_now(db)
    deliver(db)
    [published] = of(receiver, [cid])
    assert published["type"] == "no.altinn.correspondence.correspondencepublished"
    assert published["subject"] == PERSON_RECIPIENT
    # The recipient's own actions are the sender's to learn of.
    client.get(f"{URL}/{cid}/content", headers=me)
    deliver(db)
    assert [e["type"] for e in of(receiver, [cid])] == ["no.altinn.correspondence.correspondencepublished"]


def test_a_sender_subscription_sees_every_event_of_its_resource_with_altinns_subjects(
    client, sender, tokens, receiver, db
):
    subscribe_active(client, sender, receiver, db)
    [cid] = create(client, sender, [PERSON_RECIPIENT])
    publish_now(db)
    me = tokens.headers(org=None, pid=PERSON_PID, scopes=(READ,))
    assert client.get(f"{URL}/{cid}/content", headers=me).status_code == 200
    ok(action(client, cid, "purge", me))
    deliver(db)
    subjects = {e["type"].rsplit(".", 1)[1]: e["subject"] for e in of(receiver, [cid])}
    assert subjects == {
        "correspondenceinitialized": SENDER_URN,
        "correspondencepublished": PERSON_RECIPIENT,
        "correspondencereceiverread": SENDER_URN,
        "correspondencepurged": SENDER_URN,
    }


def test_a_person_subscribes_for_an_organization_it_acts_for_while_it_may(
    client, sender, tokens, receiver, db
):
    pid, company = "16029012345", ORG_RECIPIENT.rsplit(":", 1)[1]
    with db.transaction() as conn:
        upsert_access(conn, [AccessGrant(pid, company, frozenset({"*"}))])
    person = tokens.headers(org=None, pid=pid, scopes=(READ,))
    stranger = tokens.headers(org=None, pid="17029012345", scopes=(READ,))
    refused = client.post(
        EVENTS_URL,
        json={
            "endPoint": receiver.url,
            "resourceFilter": "urn:altinn:resource:test-service",
            "subjectFilter": ORG_RECIPIENT,
        },
        headers=stranger,
    )
    assert refused.status_code == 403
    subscribe_active(client, person, receiver, db, subjectFilter=ORG_RECIPIENT)
    [first] = create(client, sender, [ORG_RECIPIENT])
    publish_now(db)
    deliver(db)
    assert [e["subject"] for e in of(receiver, [first])] == [ORG_RECIPIENT]
    with db.transaction() as conn:  # the access is taken away: the fan-out checks again
        upsert_access(conn, [AccessGrant(pid, company, frozenset())])
    [second] = create(client, sender, [ORG_RECIPIENT])
    publish_now(db)
    deliver(db)
    assert of(receiver, [second]) == []


def test_a_validation_that_fails_for_good_drops_the_waiting_deliveries_and_says_so(
    client, sender, receiver, db, monkeypatch
):
    monkeypatch.setenv("EVENTS_GIVE_UP_AFTER_HOURS", str(2 / 3600))  # 2 s
    receiver.answer = lambda event: 410
    body = subscribe(client, sender, receiver)
    ids = create(client, sender, [ORG_RECIPIENT])
    deliver(db, budget=1.0)
    time.sleep(2.1)
    deliver(db, budget=1.0)
    view = client.get(f"{EVENTS_URL}/{body['id']}", headers=sender).get_json()
    assert view["status"] == "failed" and "validation" in view["statusReason"]
    assert view["deliveries"]["pending"] == 0 and view["deliveries"]["failed"] >= 2  # validation + event
    assert of(receiver, ids) == []


def test_a_failing_subscription_is_probed_one_delivery_at_a_time(client, sender, receiver, db):
    body = subscribe_active(client, sender, receiver, db)
    receiver.answer = lambda event: 500
    ids = create(
        client, sender, [f"urn:altinn:organization:identifier-no:{n}" for n in ("313721779", "310654329")]
    )
    ids += create(client, sender, [ORG_RECIPIENT])
    deliver(db, budget=0.5)  # the first round finds a healthy subscription: up to 4 in flight
    first = len(receiver.events("correspondenceinitialized"))
    assert 1 <= first <= 3
    view = client.get(f"{EVENTS_URL}/{body['id']}", headers=sender).get_json()
    assert view["consecutiveFailures"] >= 1 and view["nextProbe"]
    for _ in range(6):  # later rounds: one probe each, and only once its time has come
        before = len(receiver.events("correspondenceinitialized"))
        deliver(db, budget=0.1)
        assert len(receiver.events("correspondenceinitialized")) - before <= 1
        time.sleep(0.3)
    receiver.answer = lambda event: 200
    assert wait_until(lambda: (deliver(db, budget=1.0) and False) or len(of(receiver, ids)) == 3, 30, 0.3)
    assert client.get(f"{EVENTS_URL}/{body['id']}", headers=sender).get_json()["consecutiveFailures"] == 0


def test_https_only_in_production(client, sender, receiver, db, monkeypatch):
    monkeypatch.setenv("CORRESPONDENCE_ENV", "production")
    monkeypatch.setenv("EVENTS_SECRET_KEYS", _fernet_key())
    monkeypatch.setenv("EVENTS_ALLOW_PRIVATE_ENDPOINTS", "false")
    resp = client.post(
        EVENTS_URL,
        json={"endPoint": receiver.url, "resourceFilter": "urn:altinn:resource:test-service"},
        headers=sender,
    )
    assert resp.status_code == 400 and "https" in resp.get_json()["detail"]
    monkeypatch.setenv("EVENTS_ALLOW_PRIVATE_ENDPOINTS", "true")  # loopback http, allowed explicitly
    body = subscribe(client, sender, receiver)
    with db.transaction() as conn:  # sealed with this test's key: no later test could open it
        conn.execute("DELETE FROM event_subscriptions WHERE id = %s", (body["id"],))


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def test_notification_events_name_the_order_and_the_sender():
    from app.domain.events import notification_events, source_kind, subject_of

    class Order:
        def __init__(self) -> None:
            self.id, self.correspondence_id = uuid.uuid4(), uuid.uuid4()

    class Outcome:
        def __init__(self, status: str, order_id: uuid.UUID | None) -> None:
            self.status, self.notification_order_id = status, order_id

    order, altinn_order = Order(), uuid.uuid4()
    [created] = notification_events([(order, Outcome("Success", altinn_order))])
    assert created == ("notificationcreated", order.correspondence_id, None, altinn_order)
    [failed] = notification_events([(order, Outcome("Failure", None))])
    assert failed[0] == "correspondencenotificationcreationfailed" and failed[3] is None
    assert source_kind("notificationcreated") == "notification"
    assert source_kind("correspondencenotificationcreationfailed") == "correspondence"
    assert subject_of("notificationcreated", "S", "R") == "S"
    assert subject_of("correspondencereceiverneverread", "S", "R") == "R"
