"""The smtp gateway against a real SMTP server on loopback (aiosmtpd): one e-mail per address, a
refusal recorded with the server's reply, a server that is down loses nothing and sends nothing twice."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta

import pytest

from app.domain.deliveries import SMS_UNSUPPORTED
from app.domain.enums import CorrespondenceStatus as S
from app.usecases.send_emails import HANDED_OVER
from tests.api.helpers import details, ok, overview
from tests.events.conftest import deliver, subscribe_active
from tests.notifications.helpers import (
    FAST,
    channel,
    deliveries_of,
    email_of,
    initialize_with_orders,
    open_deliveries,
    org_with_email,
    send_until_done,
)
from tests.smtp_server import SmtpServer
from tests.workers.test_delivery import add_status
from workers.gateways.smtp import SmtpGateway, SmtpSettings


@pytest.fixture()
def smtp():
    server = SmtpServer()
    yield server
    server.stop()


def test_three_recipients_get_exactly_one_email_each(client, sender, db, smtp):
    recipients = [org_with_email(db, f"Mottaker {n} AS") for n in range(3)]
    ids = initialize_with_orders(client, sender, db, recipients)
    assert {d["status"] for d in deliveries_of(db, ids)} == {"New"}

    send_until_done(db, channel(smtp.url), ids)

    addresses = {email_of(db, r).lower() for r in recipients}
    assert smtp.per_address() == dict.fromkeys(addresses, 1)
    by_to = {m["To"].lower(): m for m in smtp.received()}
    for n, urn in enumerate(recipients):
        message = by_to[email_of(db, urn).lower()]
        assert message["Subject"] == f"Ny melding til Mottaker {n} AS"
        assert message.get_content().strip() == (
            f"Hei Mottaker {n} AS. Digitaliseringsdirektoratet har sendt deg en melding."
        )
        assert message["From"] == "Altinn <noreply@correspondence.test>"
    assert len({m["Message-ID"] for m in smtp.received()}) == 3
    assert {d["status"] for d in deliveries_of(db, ids)} == {"Succeeded"}

    shown = ok(details(client, str(ids[0]), sender))["notifications"][0]
    email = shown["notificationStatusDetails"]["email"]
    assert email["succeeded"] is True
    assert email["recipient"]["emailAddress"] == email_of(db, recipients[0])
    assert email["sendStatus"]["status"] == "Email_Succeeded"
    assert shown["notificationStatusDetails"]["emails"] == [email]
    assert shown["notificationStatusDetails"]["sms"] is None
    seen = ok(overview(client, str(ids[0]), sender))["notifications"][0]
    assert seen["notificationStatusDetails"] == shown["notificationStatusDetails"]


def test_a_refused_recipient_is_failed_with_the_reply_and_the_sender_is_told(
    client, sender, db, smtp, receiver
):
    subscribe_active(client, sender, receiver, db)
    refused = org_with_email(db, "Avvist AS")
    smtp.refuse[email_of(db, refused).lower()] = "550 5.1.1 Mailbox unavailable"
    [cid] = initialize_with_orders(client, sender, db, [refused])

    send_until_done(db, channel(smtp.url), [cid])

    assert smtp.received() == []
    [row] = deliveries_of(db, [cid])
    assert (row["status"], row["reason"]) == ("Failed", "550 5.1.1 Mailbox unavailable")
    email = ok(details(client, str(cid), sender))["notifications"][0]["notificationStatusDetails"]["email"]
    assert email["succeeded"] is False
    assert email["sendStatus"]["status"] == "Email_Failed"
    assert email["sendStatus"]["description"] == "550 5.1.1 Mailbox unavailable"

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not receiver.events("correspondencenotificationallfailed"):
        deliver(db)
        time.sleep(0.1)
    for suffix in ("correspondencenotificationfailed", "correspondencenotificationallfailed"):
        [got] = [r["event"] for r in receiver.events(suffix) if r["event"]["resourceinstance"] == str(cid)]
        assert got["subject"] == "urn:altinn:organization:identifier-no:991825827"  # the sender
    assert not [
        r
        for r in receiver.events("correspondencenotificationdelivered")
        if r["event"]["resourceinstance"] == str(cid)
    ]


def test_delivered_event_for_an_address_that_got_its_email(client, sender, db, smtp, receiver):
    subscribe_active(client, sender, receiver, db)
    [cid] = initialize_with_orders(client, sender, db, [org_with_email(db, "Levert AS")])
    send_until_done(db, channel(smtp.url), [cid])
    deadline = time.monotonic() + 15
    mine = []
    while time.monotonic() < deadline and not mine:
        deliver(db)
        mine = [
            r
            for r in receiver.events("correspondencenotificationdelivered")
            if r["event"]["resourceinstance"] == str(cid)
        ]
        time.sleep(0.1)
    assert len(mine) == 1
    assert not [r for r in receiver.events("failed") if r["event"]["resourceinstance"] == str(cid)]


def test_a_temporary_refusal_is_tried_again(client, sender, db, smtp):
    urn = org_with_email(db, "Fullt AS")
    address = email_of(db, urn).lower()
    smtp.refuse[address] = "452 4.2.2 Mailbox full"
    [cid] = initialize_with_orders(client, sender, db, [urn])
    first = send_until_once(db, smtp)
    assert first.retry == 1
    [row] = deliveries_of(db, [cid])
    assert (row["status"], row["reason"], row["attempts"]) == ("New", "452 4.2.2 Mailbox full", 1)
    del smtp.refuse[address]
    send_until_done(db, channel(smtp.url), [cid])
    assert smtp.per_address() == {address: 1}


def send_until_once(db, smtp):
    from app.usecases.send_emails import send_due_emails

    return send_due_emails(db, channel(smtp.url), policy=FAST)


def test_a_server_down_for_20_seconds_loses_nothing_and_sends_nothing_twice(client, sender, db, smtp):
    recipients = [org_with_email(db, f"Nede {n} AS") for n in range(3)]
    smtp.stop()
    ids = initialize_with_orders(client, sender, db, recipients)
    back = threading.Timer(20.0, smtp.start)
    back.start()
    started = time.monotonic()
    try:
        results = send_until_done(db, channel(smtp.url, timeout=2.0), ids, timeout=60)
    finally:
        back.cancel()
    assert time.monotonic() - started >= 20
    assert sum(r.retry for r in results) >= 3  # refused connections, tried again with backoff
    assert all(r.unreachable for r in results if r.retry)
    assert smtp.per_address() == {email_of(db, r).lower(): 1 for r in recipients}
    assert {d["status"] for d in deliveries_of(db, ids)} == {"Succeeded"}
    assert open_deliveries(db, ids) == 0


def test_smtp_url_forms():
    plain = SmtpSettings.from_url("smtp://user:p%40ss@127.0.0.1:2525")
    assert (plain.host, plain.port, plain.tls, plain.starttls) == ("127.0.0.1", 2525, False, False)
    assert (plain.username, plain.password) == ("user", "p@ss")
    assert SmtpSettings.from_url("smtp://127.0.0.1:587?starttls=true").starttls is True
    tls = SmtpSettings.from_url("smtps://127.0.0.1")
    assert (tls.tls, tls.port, tls.starttls) == (True, 465, False)
    with pytest.raises(ValueError):
        SmtpSettings.from_url("http://127.0.0.1")


def test_an_sms_only_address_is_failed_at_once_under_the_smtp_gateway(client, sender, db, smtp):
    """docs/operating.md: NOTIFICATION_GATEWAY=smtp sends e-mail only; a mobile number is Failed at once with
    the reason, so the sender can fall back (all failed when it was the recipient's only address)."""
    urn = org_with_email(db, "Bare SMS AS", mobile="+4798765431")
    [cid] = initialize_with_orders(
        client,
        sender,
        db,
        [urn],
        notificationChannel="Sms",
        smsBody="Ny melding",
        emailSubject=None,
        emailBody=None,
    )
    [row] = deliveries_of(db, [cid])
    assert (row["channel"], row["address"], row["status"]) == ("Sms", "+4798765431", "Failed")
    assert row["reason"] == SMS_UNSUPPORTED
    sms = ok(details(client, str(cid), sender))["notifications"][0]["notificationStatusDetails"]["sms"]
    assert (sms["sendStatus"]["status"], sms["recipient"]["mobileNumber"]) == ("SMS_Failed", "+4798765431")
    with db.transaction() as conn:
        events = [
            r["event_type"]
            for r in conn.execute(
                "SELECT event_type FROM correspondence_events WHERE correspondence_id = %s ORDER BY id",
                (cid,),
            )
        ]
    assert events[-2:] == ["correspondencenotificationfailed", "correspondencenotificationallfailed"]
    send_until_done(db, channel(smtp.url), [cid])
    assert smtp.received() == []


def test_the_worker_task_sends_the_due_emails(client, sender, db, smtp, use_gateway):
    import workers.tasks.notifications  # noqa: F401  (registers the task)
    from app.config import WorkerSettings
    from tests.conftest import current_celery
    from workers.celery_app import TASK_SEND_EMAILS
    from workers.services import WorkerServices

    settings = WorkerSettings(gateway="smtp", smtp_url=smtp.url, smtp_from="noreply@correspondence.test")
    current_celery().installed_services = WorkerServices(settings, db, SmtpGateway())
    ids = initialize_with_orders(client, sender, db, [org_with_email(db, "Oppgave AS")])
    totals = current_celery().tasks[TASK_SEND_EMAILS].apply().get()
    assert totals["succeeded"] >= 1
    assert len(smtp.received()) == 1
    assert open_deliveries(db, ids) == 0


def test_the_smtp_gateway_needs_its_server_and_from_address():
    from app.config import WorkerSettings
    from workers.gateways import make_gateway

    with pytest.raises(RuntimeError, match="SMTP_URL and SMTP_FROM"):
        make_gateway(WorkerSettings(gateway="smtp"))
    with pytest.raises(RuntimeError, match="SMTP_URL must be"):
        make_gateway(WorkerSettings(gateway="smtp", smtp_url="smtpx://h", smtp_from="a@b.test"))
    assert (
        make_gateway(WorkerSettings(gateway="smtp", smtp_url="smtp://127.0.0.1", smtp_from="a@b.test")).name
        == "smtp"
    )


def test_metrics_count_emails_sent_and_failed_by_reason(client, sender, db, smtp):
    refused = org_with_email(db, "Metrikk Avvist AS")
    smtp.refuse[email_of(db, refused).lower()] = "550 5.1.1 Mailbox unavailable"
    ids = initialize_with_orders(client, sender, db, [refused, org_with_email(db, "Metrikk AS")])
    send_until_done(db, channel(smtp.url), ids)
    page = client.get("/metrics").get_data(as_text=True)
    lines = [line for line in page.splitlines() if line.startswith("correspondence_notification_deliveries{")]
    assert any('status="Failed"' in line and 'reason="550"' in line for line in lines), lines
    assert any('channel="Email"' in line and 'status="Succeeded"' in line for line in lines), lines


def test_an_address_left_sending_by_a_dead_worker_is_never_sent_again(client, sender, db, smtp):
    [cid] = initialize_with_orders(client, sender, db, [org_with_email(db, "Halvveis AS")])
    with db.transaction() as conn:  # what a worker killed after handing the message over leaves
        conn.execute(
            "UPDATE notification_deliveries SET status = 'Sending', lease_owner = gen_random_uuid(), "
            "locked_until = now() - interval '1 second' WHERE correspondence_id = %s",
            (cid,),
        )
    [result] = send_until_done(db, channel(smtp.url), [cid])
    assert result.handed_over == 1
    assert smtp.received() == []
    [row] = deliveries_of(db, [cid])
    assert (row["status"], row["reason"]) == ("Succeeded", HANDED_OVER)


def test_a_temporary_refusal_ends_failed_after_the_give_up_age(client, sender, db, smtp):
    urn = org_with_email(db, "Alltid Fullt AS")
    smtp.refuse[email_of(db, urn).lower()] = "451 4.3.0 Try later"
    [cid] = initialize_with_orders(client, sender, db, [urn])
    send_until_done(
        db, channel(smtp.url), [cid], policy=dataclasses.replace(FAST, give_up_after=timedelta(0))
    )
    [row] = deliveries_of(db, [cid])
    assert (row["status"], row["reason_code"]) == ("Failed", "gave-up")
    assert row["reason"].endswith("451 4.3.0 Try later")


def test_nothing_is_sent_for_a_purged_correspondence(client, sender, db, smtp):
    [cid] = initialize_with_orders(client, sender, db, [org_with_email(db, "Slettet AS")])
    add_status(db, cid, S.PurgedByAltinn)
    send_until_done(db, channel(smtp.url), [cid])
    assert smtp.received() == []
    assert deliveries_of(db, [cid]) == []
    with db.transaction() as conn:
        status = conn.execute(
            "SELECT delivery_status FROM notification_orders WHERE correspondence_id = %s", (cid,)
        ).fetchone()["delivery_status"]
    assert status == "SendConditionNotMet"


def test_a_connection_broken_at_the_messages_end_sends_it_again_once(client, sender, db, smtp):
    """Sending marked (not committed), then the end could not be written: the server has nothing,
    the mark is rolled back, the address goes out once on the next attempt."""
    import socket
    from contextlib import contextmanager

    from workers.gateways.smtp import SmtpChannel, SmtpSession

    broken = []

    class BreakingSession(SmtpSession):
        def send(self, sender, to, message, handover):
            session = self

            class MarkThenBreak:
                def mark(self) -> bool:
                    marked = handover.mark()
                    if not broken:
                        broken.append(to)
                        session._smtp.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
                    return marked

                def commit(self) -> None:
                    handover.commit()

                def abandon(self) -> None:
                    handover.abandon()

            return super().send(sender, to, message, MarkThenBreak())

    class BreakingChannel(SmtpChannel):
        @contextmanager
        def session(self):
            session = BreakingSession(self.settings)
            try:
                yield session
            finally:
                session.close()

    urn = org_with_email(db, "Brudd AS")
    [cid] = initialize_with_orders(client, sender, db, [urn])
    ch = channel(smtp.url)
    send_until_done(db, BreakingChannel(ch.settings, ch.sender), [cid])
    assert broken == [email_of(db, urn)]
    assert smtp.per_address() == {email_of(db, urn).lower(): 1}
    [row] = deliveries_of(db, [cid])
    assert (row["status"], row["attempts"]) == ("Succeeded", 2)


def test_a_reminder_goes_out_while_unread_and_says_reminderdelivered(client, sender, db, smtp):
    urn = org_with_email(db, "Påminnet AS")
    [cid] = initialize_with_orders(
        client,
        sender,
        db,
        [urn],
        sendReminder=True,
        reminderEmailSubject="Påminnelse til $recipientName$",
        reminderEmailBody="Husk posten",
    )
    with db.transaction() as conn:  # the reminder's send time has come
        conn.execute(
            "UPDATE notification_orders SET requested_send_time = now() - interval '1 second' "
            "WHERE correspondence_id = %s",
            (cid,),
        )
    send_until_done(db, channel(smtp.url), [cid])
    assert sorted(m["Subject"] for m in smtp.received()) == [
        "Ny melding til Påminnet AS",
        "Påminnelse til Påminnet AS",
    ]
    with db.transaction() as conn:
        events = {
            r["event_type"]
            for r in conn.execute(
                "SELECT event_type FROM correspondence_events WHERE correspondence_id = %s", (cid,)
            )
        }
    assert {"correspondencenotificationdelivered", "correspondencenotificationreminderdelivered"} <= events


def test_a_reminder_of_a_read_correspondence_is_not_sent(client, sender, db, smtp):
    [cid] = initialize_with_orders(
        client,
        sender,
        db,
        [org_with_email(db, "Har Lest AS")],
        sendReminder=True,
        reminderEmailSubject="Påminnelse",
        reminderEmailBody="Husk posten",
    )
    add_status(db, cid, S.Read)
    with db.transaction() as conn:
        conn.execute(
            "UPDATE notification_orders SET requested_send_time = now() - interval '1 second' "
            "WHERE correspondence_id = %s",
            (cid,),
        )
    send_until_done(db, channel(smtp.url), [cid])
    assert [m["Subject"] for m in smtp.received()] == ["Ny melding til Har Lest AS"]
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT is_reminder, delivery_status FROM notification_orders WHERE correspondence_id = %s",
            (cid,),
        ).fetchall()
    assert {r["is_reminder"]: r["delivery_status"] for r in rows} == {
        False: "Completed",
        True: "SendConditionNotMet",
    }
