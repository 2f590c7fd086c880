"""The `smtp` gateway (issue 25): orders are created here (the local register gives the addresses)
and their e-mails sent by this process over SMTP, one message per address.

`SMTP_URL`: `smtp://user:pass@host:port` (plain, or STARTTLS with `?starttls=true`), `smtps://…`
(TLS from the first byte); `?cafile=/path/ca.pem` trusts that CA as well as the system's (a private
relay's certificate); `SMTP_FROM` is the From address. The client owns its wire format: it
speaks the conversation step by step (MAIL, RCPT, DATA) so that the caller can record `Sending`
right before the message's last bytes go out, and reads each reply itself.

SMS: this gateway sends e-mail only. An order's mobile numbers are recorded `Failed` with the reason
`SMS_UNSUPPORTED` at once (the sender sees it in details and gets the failed events); a preferred
channel (EmailPreferred, SmsPreferred) uses the e-mail addresses when the party has any.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import struct
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from urllib.parse import parse_qs, unquote, urlsplit

from app.domain import recipients as recipient_rules
from app.domain.deliveries import (
    EMAIL,
    FAILED,
    SMS,
    SMS_UNSUPPORTED,
    ChannelUnavailable,
    Handover,
    NotHandedOver,
    PlannedDelivery,
    Reply,
)
from app.domain.enums import NotificationChannel as Ch
from app.domain.notification_orders import (
    MISSING_CONTACT,
    SUCCESS,
    Contact,
    NotificationOrder,
    OrderOutcome,
    resolve_addresses,
)
from workers.gateways.altinn import order_request


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: bool = False  # smtps: TLS from the first byte
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0
    ca_file: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        """Certificates are always verified, against the system's CAs and `ca_file`."""
        context = ssl.create_default_context()
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        return context

    @classmethod
    def from_url(cls, url: str, timeout: float = 10.0) -> SmtpSettings:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://…")
        raw = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
        query = {k: v.lower() for k, v in raw.items()}
        tls = scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            tls=tls,
            starttls=not tls and query.get("starttls") in ("true", "1", "yes"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
            ca_file=raw.get("cafile") or None,
        )


class SmtpGateway:
    """Creates orders like the local gateway, with their deliveries: e-mail addresses New (sent by
    the e-mail worker), mobile numbers Failed (no SMS over SMTP)."""

    name = "smtp"

    def create_order(self, order: NotificationOrder, contacts: dict[str, Contact]) -> OrderOutcome:
        addresses = _addresses(order, contacts)
        sent = order_request(order)
        if not addresses:
            return OrderOutcome(MISSING_CONTACT, notification_order_id=order.id, request=sent)
        name = _recipient_name(order, contacts)
        deliveries = tuple(
            PlannedDelivery(EMAIL, a, name)
            if "@" in a
            else PlannedDelivery(SMS, a, name, FAILED, SMS_UNSUPPORTED, "unsupported")
            for a in addresses
        )
        return OrderOutcome(
            SUCCESS,
            addresses=addresses,
            notification_order_id=order.id,
            shipment_id=uuid.uuid5(order.id, "shipment"),
            request=sent,
            deliveries=deliveries,
        )


def _addresses(order: NotificationOrder, contacts: dict[str, Contact]) -> tuple[str, ...]:
    addresses = resolve_addresses(order, contacts)
    if order.channel in (Ch.EmailPreferred, Ch.SmsPreferred) and order.plan.kind not in ("email", "sms"):
        emails = tuple(a for a in addresses if "@" in a)
        if not emails:  # SmsPreferred gave the mobiles: the party's e-mails, if it has any, can be sent
            emails = tuple(a for a in resolve_addresses(_with_channel(order, Ch.Email), contacts) if "@" in a)
        return emails or addresses
    return addresses


def _with_channel(order: NotificationOrder, channel: int) -> NotificationOrder:
    from dataclasses import replace

    return replace(order, channel=channel)


def _recipient_name(order: NotificationOrder, contacts: dict[str, Contact]) -> str | None:
    """`$recipientName$`: the notified party's name (Notifications fills it per person)."""
    plan = order.plan
    if plan.kind == "organization":
        urn = f"{recipient_rules.ORGANIZATION_PREFIX}:{plan.value}"
    elif plan.kind == "person":
        urn = f"{recipient_rules.PERSON_PREFIX}:{plan.value}"
    elif plan.kind == "external":
        urn = plan.value
    else:
        return None
    contact = contacts.get(urn)
    return contact.name if contact else None


ServerUnavailable = ChannelUnavailable


class SmtpSession:
    """One connection, reused for many messages. `send` returns the server's verdict on one
    message; it raises ServerUnavailable when the connection is gone (the caller retries later)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._in_data = False

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.tls:
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=s.tls_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            # Each message ends with a small write (its end) right after a large one: without
            # TCP_NODELAY, Nagle's algorithm holds it until the server's delayed ACK (~40 ms a message).
            if smtp.sock is not None:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo_or_helo_if_needed()
            if s.starttls:
                smtp.starttls(context=s.tls_context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ServerUnavailable(
                f"authentication refused: {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ServerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return smtp

    def send(self, sender: str, to: str, message: EmailMessage, handover: Handover) -> Reply | None:
        """MAIL, RCPT, DATA and the message but its end; then `handover.mark()` (the caller marks the
        address Sending in a transaction it keeps open; False: stop, nothing is sent), the end, at
        once `handover.commit()`, and the server's reply. None when the handover said stop."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            smtp = self._smtp
            code, text = smtp.mail(sender)
            if code != 250:
                return self._refused(code, text)
            code, text = smtp.rcpt(to)
            if code not in (250, 251):
                return self._refused(code, text)
            code, text = smtp.docmd("DATA")
            if code != 354:
                return self._refused(code, text)
            body, end = _wire(message)
            self._in_data = True  # until the end is sent, a close must not say QUIT (it would be data)
            smtp.send(body)  # all but the end: without it the server keeps nothing
            if not handover.mark():
                self.close()  # the only way to abandon a DATA phase: the server discards it
                return None
            # The end is written corked (held in the kernel, waking no one), then `Sending` is
            # committed, then the end is released. A process killed after the end's write still
            # sends it (a closing socket flushes what it holds), and its COMMIT, written next, too.
            _cork(smtp, True)
            try:
                smtp.send(end)
            except (OSError, smtplib.SMTPException) as exc:
                # The end never reached the socket: the server cannot have the message.
                handover.abandon()
                self.close()
                raise NotHandedOver(f"{type(exc).__name__}: {exc}") from exc
            try:
                handover.commit()
            except BaseException:
                self._abort()  # reset: the held end is dropped, the server never has the message
                raise
            _cork(smtp, False)
            self._in_data = False
            code, text = smtp.getreply()
            if code == 421:
                self.close()
            return Reply(code, _text(text))
        except ChannelUnavailable:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise ServerUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def _refused(self, code: int, text: bytes) -> Reply:
        if code == 421:  # the server is closing the connection
            self.close()
            raise ServerUnavailable(f"{code} {_text(text)}")
        try:
            self._smtp.rset()  # type: ignore[union-attr]
        except (OSError, smtplib.SMTPException):
            self.close()
        return Reply(code, _text(text))

    def _abort(self) -> None:
        """Reset the connection (SO_LINGER 0): what the kernel still holds is dropped, not sent."""
        if self._smtp is not None and self._smtp.sock is not None:
            with suppress(OSError):
                self._smtp.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with suppress(OSError):
                self._smtp.sock.close()
        self._smtp = None
        self._in_data = False

    def close(self) -> None:
        if self._smtp is not None:
            try:
                if self._in_data:
                    self._smtp.close()  # mid-DATA: drop the connection, the server discards the message
                else:
                    self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                with suppress(OSError):
                    self._smtp.close()
            self._smtp = None
            self._in_data = False


class SmtpChannel:
    """The e-mail channel of the smtp gateway: sessions to one server, From `sender`."""

    def __init__(self, settings: SmtpSettings, sender: str) -> None:
        self.settings = settings
        self.sender = sender

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2].strip(" >") or "localhost"

    @contextmanager
    def session(self) -> Iterator[SmtpSession]:
        session = SmtpSession(self.settings)
        try:
            yield session
        finally:
            session.close()


def _cork(smtp: smtplib.SMTP, on: bool) -> None:
    """TCP_CORK (Linux): while on, small writes stay in the kernel; turning it off sends them."""
    if smtp.sock is not None and hasattr(socket, "TCP_CORK"):
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1 if on else 0)


def _wire(message: EmailMessage) -> tuple[bytes, bytes]:
    """The DATA of one message (CRLF lines, leading dots doubled) and its end, `.<CRLF>`."""
    data = message.as_bytes(policy=SMTP_POLICY)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data, b".\r\n"


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())[:500]
