"""The smtp gateway's client against real servers on loopback: login, a server that closes, a
message abandoned before its end, TLS refused; and which addresses an order reaches."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from app.domain.deliveries import ChannelUnavailable, NotHandedOver, compose_email
from app.domain.enums import NotificationChannel as Ch
from app.domain.notification_orders import Contact, NotificationOrder, RecipientPlan
from tests.smtp_server import SmtpServer, free_port
from workers.gateways.smtp import SmtpGateway, SmtpSession, SmtpSettings


class Handover:
    def __init__(self, ok: bool = True, then=None) -> None:
        self.ok, self.then, self.steps = ok, then, []

    def mark(self) -> bool:
        self.steps.append("mark")
        if self.then:
            self.then()
        return self.ok

    def commit(self) -> None:
        self.steps.append("commit")

    def abandon(self) -> None:
        self.steps.append("abandon")


REQUEST = {"recipient": {"recipientEmail": {"emailSettings": {"subject": "Emne", "body": "Tekst"}}}}


def message(to: str = "a@example.test"):
    return compose_email(
        REQUEST,
        sender="noreply@example.test",
        to=to,
        recipient_name=None,
        message_id="<x@example.test>",
        now=datetime.now(UTC),
    )


class Accepting:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received += 1
        return "250 OK"


@pytest.mark.filterwarnings("ignore::UserWarning")  # aiosmtpd: AUTH without TLS (loopback test only)
def test_login_with_the_url_credentials():
    handler, port = Accepting(), free_port()

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"user" and auth_data.password == b"secret")

    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        good = SmtpSession(SmtpSettings.from_url(f"smtp://user:secret@127.0.0.1:{port}"))
        reply = good.send("noreply@example.test", "a@example.test", message(), Handover())
        assert reply is not None and reply.accepted
        good.close()
    finally:
        controller.stop()
    assert handler.received == 1


def test_a_message_abandoned_before_its_end_is_not_delivered():
    server = SmtpServer()
    try:
        session = SmtpSession(SmtpSettings.from_url(server.url))
        assert session.send("noreply@example.test", "a@example.test", message(), Handover(ok=False)) is None
        session.close()

        broken = SmtpSession(SmtpSettings.from_url(server.url))

        def breaks() -> None:
            broken._smtp.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]  (it breaks at the end)

        handover = Handover(then=breaks)
        with pytest.raises(NotHandedOver):
            broken.send("noreply@example.test", "a@example.test", message(), handover)
        assert handover.steps == ["mark", "abandon"]
        broken.close()
        time.sleep(0.2)
        assert server.received() == []
        again = SmtpSession(SmtpSettings.from_url(server.url))
        reply = again.send("noreply@example.test", "a@example.test", message(), Handover())
        assert reply is not None and reply.accepted
        again.close()
        assert len(server.received()) == 1
    finally:
        server.stop()


def test_a_server_that_is_closing_is_unavailable():
    server = SmtpServer()
    server.refuse["busy@example.test"] = "421 4.3.2 Shutting down"
    try:
        session = SmtpSession(SmtpSettings.from_url(server.url))
        with pytest.raises(ChannelUnavailable, match="421"):
            session.send(
                "noreply@example.test", "busy@example.test", message("busy@example.test"), lambda: True
            )
        session.close()
    finally:
        server.stop()


def test_tls_to_a_server_without_it_is_unavailable():
    server = SmtpServer()
    try:
        for url in (f"smtps://127.0.0.1:{server.port}", f"smtp://127.0.0.1:{server.port}?starttls=true"):
            session = SmtpSession(SmtpSettings.from_url(url, timeout=2))
            with pytest.raises(ChannelUnavailable):
                session.send("noreply@example.test", "a@example.test", message(), Handover())
            session.close()
        assert server.received() == []
    finally:
        server.stop()


def order(kind: str, value: str, channel: int) -> NotificationOrder:
    return NotificationOrder(
        id=__import__("uuid").uuid4(),
        correspondence_id=__import__("uuid").uuid4(),
        is_reminder=False,
        plan=RecipientPlan(kind, value),
        template=0,
        channel=channel,
        requested_send_time=datetime.now(UTC),
        email_subject="Emne",
        email_body="Tekst",
        email_content_type=0,
        sms_body="SMS",
        ignore_reservation=None,
    )


ORG = "urn:altinn:organization:identifier-no:313721779"
PERSON = "urn:altinn:person:identifier-no:08900499559"
CONTACTS = {
    ORG: Contact("Testbedrift AS", ("post@testbedrift.no",), ("+4798765432",)),
    PERSON: Contact("Kari Nordmann", (), ("+4791234567",)),
}


@pytest.mark.parametrize(
    ("kind", "value", "channel", "expected"),
    [
        ("organization", "313721779", Ch.SmsPreferred, [("Email", "post@testbedrift.no", "New")]),
        (
            "organization",
            "313721779",
            Ch.EmailAndSms,
            [("Email", "post@testbedrift.no", "New"), ("Sms", "+4798765432", "Failed")],
        ),
        ("person", "08900499559", Ch.EmailPreferred, [("Sms", "+4791234567", "Failed")]),
        ("sms", "+4790000000", Ch.Sms, [("Sms", "+4790000000", "Failed")]),
        ("email", "x@example.test", Ch.Email, [("Email", "x@example.test", "New")]),
        ("person", "01019010046", Ch.Email, []),
    ],
)
def test_which_addresses_the_smtp_gateway_reaches(kind, value, channel, expected):
    outcome = SmtpGateway().create_order(order(kind, value, channel), CONTACTS)
    assert [(d.channel, d.address, d.status) for d in outcome.deliveries] == expected
    assert outcome.status == ("Success" if expected else "MissingContact")
    names = {d.recipient_name for d in outcome.deliveries}
    if kind == "organization":
        assert names == {"Testbedrift AS"}
    if kind in ("email", "sms"):
        assert names == {None}


def _certificate(tmp_path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (its own CA): (cert file, key file)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_tls_with_a_trusted_certificate(tmp_path, mode):
    import ssl

    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler, port = Accepting(), free_port()
    if mode == "starttls":
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
        )
        url = f"smtp://127.0.0.1:{port}?starttls=true&cafile={cert}"
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context)
        url = f"smtps://127.0.0.1:{port}?cafile={cert}"
    controller.start()
    try:
        session = SmtpSession(SmtpSettings.from_url(url, timeout=5))
        reply = session.send("noreply@example.test", "a@example.test", message(), Handover())
        assert reply is not None and reply.accepted
        session.close()
        untrusted = SmtpSession(SmtpSettings.from_url(url.split("cafile=")[0].rstrip("?&"), timeout=5))
        with pytest.raises(ChannelUnavailable):  # not the system's CAs: refused, never sent in clear
            untrusted.send("noreply@example.test", "a@example.test", message(), Handover())
        untrusted.close()
    finally:
        controller.stop()
    assert handler.received == 1
