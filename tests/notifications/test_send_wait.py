"""`correspondence send --wait` with the smtp gateway: it waits until the main notification's
addresses are delivered or failed, and its summary and result CSV count them per row."""

from __future__ import annotations

import threading

import pytest

from app.usecases.send_emails import send_due_emails
from tests.client.conftest import unique_reference
from tests.client.test_send import results, send, write_csv, write_message
from tests.lifecycle.helpers import publish_now
from tests.notifications.helpers import FAST, channel, email_of, org_with_email
from tests.smtp_server import SmtpServer
from workers.gateways.smtp import SmtpGateway


@pytest.fixture()
def smtp():
    server = SmtpServer()
    yield server
    server.stop()


def test_wait_counts_delivered_and_failed_addresses(service, tokens, db, tmp_path, smtp, use_gateway, worker):
    url, _ = service
    use_gateway(SmtpGateway())
    good = org_with_email(db, "Vent Levert AS")
    bad = org_with_email(db, "Vent Avvist AS")
    smtp.refuse[email_of(db, bad).lower()] = "550 5.1.1 No such user"
    recipients = write_csv(tmp_path / "wait.csv", [[good.rsplit(":", 1)[1]], [bad.rsplit(":", 1)[1]]])
    message = write_message(
        tmp_path / "message.json",
        unique_reference("delivery"),
        notification={"notificationChannel": "Email", "emailSubject": "Varsel", "emailBody": "Du har post"},
    )
    stop = threading.Event()

    def background() -> None:  # beat's publish scan and the e-mail worker
        while not stop.is_set():
            publish_now(db)
            send_due_emails(db, channel(smtp.url), policy=FAST)
            stop.wait(0.2)

    thread = threading.Thread(target=background, daemon=True)
    thread.start()
    try:
        run = send(
            url,
            tokens.make(),
            "--recipients",
            str(recipients),
            "--message",
            str(message),
            "--wait",
            "--poll-interval",
            "0.2",
            "--wait-timeout",
            "60",
        )
    finally:
        stop.set()
        thread.join(10)
    assert run.exit_code == 0, run.output
    table = run.output[run.output.index("notification orders") :].splitlines()
    assert "  addresses delivered          1         0         1" in table, table
    assert "  addresses failed             1         0         1" in table, table
    rows = {r["urn"]: r for r in results(tmp_path / "wait.result.csv")}
    assert (rows[good]["delivered"], rows[good]["failed"]) == ("1", "0")
    assert (rows[bad]["delivered"], rows[bad]["failed"]) == ("0", "1")
    assert rows[good]["notifications"] == "Success"
