"""Forwarding sends its e-mail through the smtp gateway's channel: composed as Altinn composes it,
sent by the e-mail worker, Forwarded recorded once the server accepted it."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from app.domain.enums import CorrespondenceStatus as S
from tests.api.helpers import assert_error, details, ok
from tests.lifecycle.helpers import statuses_of
from tests.lifecycle.test_forward import forward, read_one
from tests.notifications.helpers import channel, send_until_done
from tests.smtp_server import SmtpServer


@pytest.fixture()
def smtp():
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture()
def smtp_gateway(app):
    services = app.extensions["correspondence"]
    before = services.settings
    services.settings = dataclasses.replace(before, worker=dataclasses.replace(before.worker, gateway="smtp"))
    yield
    services.settings = before


def test_a_forward_sends_one_email_and_is_forwarded_once_accepted(
    client, sender, tokens, db, smtp, smtp_gateway
):
    cid, me = read_one(client, sender, tokens, db)
    resp = forward(client, cid, me, {"forwardTo": "Ola@Example.no", "forwardingText": "Se denne"})
    assert resp.status_code == 200, resp.get_json()
    assert int(S.Forwarded) not in statuses_of(db, cid)  # not before the e-mail was accepted

    send_until_done(db, channel(smtp.url), [uuid.UUID(cid)])

    [message] = smtp.received()
    assert message["To"] == "Ola@Example.no"
    assert message["Subject"] == "Testmelding"
    assert message.get_content().replace("\r\n", "\n").rstrip("\n") == "Se denne\n\n---\n\nHei **verden**"
    assert statuses_of(db, cid).count(int(S.Forwarded)) == 1
    assert ok(details(client, cid, sender))["notifications"] == []  # not a notification


def test_a_refused_forward_is_not_forwarded(client, sender, tokens, db, smtp, smtp_gateway):
    cid, me = read_one(client, sender, tokens, db)
    smtp.refuse["nei@example.no"] = "550 5.7.1 Relaying denied"
    assert forward(client, cid, me, {"forwardTo": "nei@example.no"}).status_code == 200
    send_until_done(db, channel(smtp.url), [uuid.UUID(cid)])
    assert smtp.received() == []
    assert int(S.Forwarded) not in statuses_of(db, cid)


def test_a_forward_whose_email_cannot_be_composed_is_3028_and_leaves_nothing(
    client, sender, tokens, db, smtp_gateway
):
    cid, me = read_one(client, sender, tokens, db)
    with db.transaction() as conn:  # a body no e-mail can carry
        conn.execute(
            "UPDATE initializations SET message_body = ' ' WHERE id = "
            "(SELECT initialization_id FROM correspondences WHERE id = %s)",
            (uuid.UUID(cid),),
        )
    assert_error(forward(client, cid, me, {"forwardTo": "ola@example.no"}), 500, 3028)
    with db.transaction() as conn:
        left = conn.execute(
            "SELECT count(*) AS n FROM correspondence_forwarding_events WHERE correspondence_id = %s",
            (uuid.UUID(cid),),
        ).fetchone()["n"]
    assert left == 0


@pytest.fixture()
def altinn_gateway(app):
    from tests.notifications.test_altinn_polling import FakeNotifications

    fake = FakeNotifications()
    services = app.extensions["correspondence"]
    before = services.settings
    worker = dataclasses.replace(before.worker, gateway="altinn", notifications_url=fake.url)
    services.settings = dataclasses.replace(before, worker=worker)
    yield fake
    services.settings = before
    fake.close()


def test_with_the_altinn_gateway_notifications_takes_the_forward_and_delivery_makes_it_forwarded(
    client, sender, tokens, db, altinn_gateway
):
    from datetime import timedelta

    from app.usecases.check_deliveries import CheckPolicy, check_deliveries
    from workers.gateways.altinn import AltinnNotificationsGateway

    cid, me = read_one(client, sender, tokens, db)
    assert (
        forward(client, cid, me, {"forwardTo": "videre@example.no", "forwardingText": "Les"}).status_code
        == 200
    )
    [shipment] = altinn_gateway.created
    assert int(S.Forwarded) not in statuses_of(db, cid)
    altinn_gateway.status(shipment, "Order_Completed", ("Email", "videre@example.no", "Email_Delivered"))
    gateway = AltinnNotificationsGateway(altinn_gateway.url, timeout=5)
    check_deliveries(db, gateway, policy=CheckPolicy(first_delay=timedelta(seconds=-60)))
    assert statuses_of(db, cid).count(int(S.Forwarded)) == 1


def test_with_the_altinn_gateway_unavailable_a_forward_is_3028_and_not_recorded(
    client, sender, tokens, db, app
):
    services = app.extensions["correspondence"]
    before = services.settings
    worker = dataclasses.replace(before.worker, gateway="altinn", notifications_url="http://127.0.0.1:9")
    services.settings = dataclasses.replace(before, worker=worker)
    try:
        cid, me = read_one(client, sender, tokens, db)
        assert_error(forward(client, cid, me), 500, 3028)
    finally:
        services.settings = before
    with db.transaction() as conn:
        left = conn.execute(
            "SELECT count(*) AS n FROM correspondence_forwarding_events WHERE correspondence_id = %s",
            (uuid.UUID(cid),),
        ).fetchone()["n"]
    assert left == 0
    assert forward(client, cid, me).status_code == 200  # and may be forwarded again (local gateway)
