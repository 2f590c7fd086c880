"""Delivery per address (issue 25; SPEC.md §5.6): statuses, what an SMTP reply means, the e-mail of
one address, how deliveries are shown (Altinn's NotificationDetailsExt) and which delivery events an
order's final deliveries give (Altinn's CheckNotificationDeliveryHandler). Pure."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol

NEW, SENDING, SUCCEEDED, DELIVERED, FAILED = "New", "Sending", "Succeeded", "Delivered", "Failed"
STATUSES = (NEW, SENDING, SUCCEEDED, DELIVERED, FAILED)
FINAL = frozenset({SUCCEEDED, DELIVERED, FAILED})
SENT = frozenset({SUCCEEDED, DELIVERED})
EMAIL, SMS = "Email", "Sms"

# Delivery events (SPEC.md §5.8), as Altinn publishes them: subject the sender.
DELIVERED_EVENT = "correspondencenotificationdelivered"
REMINDER_DELIVERED_EVENT = "correspondencenotificationreminderdelivered"
FAILED_EVENT = "correspondencenotificationfailed"
ALL_FAILED_EVENT = "correspondencenotificationallfailed"

SMS_UNSUPPORTED = "SMS is not sent by NOTIFICATION_GATEWAY=smtp (e-mail only)"
_NAMESPACE = uuid.UUID("0b7a6c4e-2f58-4d7e-9a61-5f3c8e1d2a90")


@dataclass(frozen=True)
class PlannedDelivery:
    """One address of an order as the order is recorded (New, or already final when the channel
    cannot reach it)."""

    channel: str
    address: str
    recipient_name: str | None = None
    status: str = NEW
    reason: str | None = None
    reason_code: str | None = None


class ChannelUnavailable(Exception):
    """The server could not be reached or dropped the connection: try again later."""


class Handover(Protocol):
    """How the e-mail worker records that a message is being handed over (the address `Sending`):
    `mark` in a transaction it keeps open (False: the address is no longer this worker's, nothing is
    sent), `commit` right after the message's end was written, `abandon` when it could not be."""

    def mark(self) -> bool: ...

    def commit(self) -> None: ...

    def abandon(self) -> None: ...


class NotHandedOver(ChannelUnavailable):
    """The connection broke while the message's last bytes were written: the server does not have it."""


@dataclass(frozen=True)
class Reply:
    """What the server said about one message (or that it could not be reached)."""

    code: int | None
    text: str

    @property
    def accepted(self) -> bool:
        return self.code is not None and 200 <= self.code < 300

    @property
    def permanent(self) -> bool:
        """A 5xx refusal: this address will never take this message."""
        return self.code is not None and 500 <= self.code < 600

    @property
    def described(self) -> str:
        return f"{self.code} {self.text}".strip() if self.code is not None else self.text

    @property
    def reason_code(self) -> str:
        return str(self.code) if self.code is not None else "unreachable"


def message_id(order_id: uuid.UUID, channel: str, address: str, domain: str) -> str:
    """The same for every attempt at one address: a receiver can tell a repeat from a new message."""
    return f"<{uuid.uuid5(_NAMESPACE, f'{order_id}/{channel}/{address.lower()}')}@{domain}>"


_RECIPIENT_NAME = re.compile(re.escape("$recipientName$"), re.IGNORECASE)


def email_settings(order_request: Mapping[str, Any]) -> dict[str, Any] | None:
    """The subject, body and content type of the stored order (Notifications v2's wire format)."""
    recipient = order_request.get("recipient") or {}
    for value in recipient.values():
        settings = value.get("emailSettings") if isinstance(value, dict) else None
        if isinstance(settings, dict):
            return settings
    return None


def compose_email(
    order_request: Mapping[str, Any],
    *,
    sender: str,
    to: str,
    recipient_name: str | None,
    message_id: str,
    now: datetime,
) -> EmailMessage | None:
    """The e-mail of one address: the order's filled-in template, `$recipientName$` filled as
    Notifications fills it (the notified party's name). None when the order has no e-mail texts."""
    settings = email_settings(order_request)
    if not settings or not settings.get("subject") or not settings.get("body"):
        return None
    name = recipient_name or ""
    subject = _RECIPIENT_NAME.sub(name, str(settings["subject"])).replace("\r", " ").replace("\n", " ")
    body = _RECIPIENT_NAME.sub(name, str(settings["body"]))
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    subtype = "html" if str(settings.get("contentType", "Plain")).lower() in ("html", "1") else "plain"
    message.set_content(body, subtype=subtype)
    return message


FORWARD_KEY_PREFIX = "forward:"


def forward_order_id(correspondence_id: uuid.UUID, address_key: str) -> uuid.UUID:
    """One forwarding e-mail per correspondence and address (as Altinn's idempotency id)."""
    return uuid.uuid5(correspondence_id, f"ForwardCorrespondence:{address_key}")


def forwarding_email(
    title: str, body: str, forwarding_text: str | None, *, to: str, forwarded_by: str
) -> dict[str, Any] | None:
    """The forwarding e-mail as Altinn composes it (subject the title; the recipient's text, a rule,
    then the message body; plain text), in the order format the e-mail worker reads. None when it
    cannot be composed (no title or no body: error 3028)."""
    subject = " ".join((title or "").split())
    text = body or ""
    if forwarding_text and forwarding_text.strip():
        text = f"{forwarding_text}\n\n---\n\n{text}"
    if not subject or not text.strip():
        return None
    return {
        "recipient": {
            "recipientEmail": {
                "emailAddress": to,
                "emailSettings": {"subject": subject, "body": text, "contentType": "Plain"},
            }
        },
        "forwardedBy": forwarded_by,
    }


def composed_email_request(
    correspondence_id: uuid.UUID,
    senders_reference: str,
    address_key: str,
    email: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Notifications' composed-e-mail order of a forwarding (as Altinn's ComposedEmailHelper)."""
    recipient = email["recipient"]["recipientEmail"]
    return {
        "idempotencyId": str(forward_order_id(correspondence_id, address_key)),
        "sendersReference": senders_reference,
        "requestedSendTime": (now + timedelta(seconds=10)).isoformat(),
        "recipient": {"emailAddress": recipient["emailAddress"], "emailSettings": recipient["emailSettings"]},
    }


def retry_delay(attempts: int, base: float, maximum: float, draw: float) -> timedelta:
    """After the `attempts`-th temporary failure: base·2^(n-1), capped, its second half random
    ("equal jitter"; `draw` in 0..1)."""
    ceiling = min(maximum, base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=ceiling / 2 + ceiling / 2 * draw)


@dataclass(frozen=True)
class OrderDeliveries:
    """An order with its deliveries, to decide whether it is final and which events it gives."""

    is_reminder: bool
    # The order was to the correspondence's own recipient (not a custom recipient).
    to_correspondence_recipient: bool
    statuses: tuple[str, ...]

    @property
    def final(self) -> bool:
        return bool(self.statuses) and all(s in FINAL for s in self.statuses)


def delivery_events(order: OrderDeliveries) -> list[str]:
    """The events of an order whose every address is final (none before): delivered (or reminder
    delivered) when one address got it; failed when one failed for good; all failed, besides, when
    every address of a main order to the correspondence's recipient failed."""
    if not order.final:
        return []
    events = []
    if any(s in SENT for s in order.statuses):
        events.append(REMINDER_DELIVERED_EVENT if order.is_reminder else DELIVERED_EVENT)
    if any(s == FAILED for s in order.statuses):
        events.append(FAILED_EVENT)
        if (
            not order.is_reminder
            and order.to_correspondence_recipient
            and all(s == FAILED for s in order.statuses)
        ):
            events.append(ALL_FAILED_EVENT)
    return events


# Following an order of Altinn Notifications (SPEC.md §5.6; Altinn's CheckNotificationDeliveryHandler).
FINAL_ORDER_STATUSES = frozenset({"Order_Completed", "Order_SendConditionNotMet", "Order_Cancelled"})
# Seconds to wait after each check that found the order not final (Altinn's schedule; 10 checks).
POLL_BACKOFF_SECONDS = (
    60,
    15 * 60,
    4 * 3600,
    8 * 3600,
    12 * 3600,
    16 * 3600,
    36 * 3600,
    48 * 3600,
    72 * 3600,
)
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ReportedDelivery:
    channel: str
    address: str
    status: str
    reason: str | None


@dataclass(frozen=True)
class Shipment:
    """Notifications' status of one shipment (an order's notification or reminder)."""

    order_status: str
    recipients: tuple[ReportedDelivery, ...]

    @property
    def final(self) -> bool:
        return self.order_status in FINAL_ORDER_STATUSES


def reported_status(name: str) -> tuple[str, str | None]:
    """Our status (and a reason for a failure) of a NotificationStatusV2 name: Email_Delivered →
    Delivered, SMS_Accepted → Succeeded, Email_Failed_Bounced → Failed (reason the name), ..."""
    kind = name.split("_", 1)[1] if "_" in name else name
    if kind.startswith("Failed"):
        return FAILED, name
    return {
        "New": NEW,
        "Sending": SENDING,
        "Succeeded": SUCCEEDED,
        "Accepted": SUCCEEDED,
        "Delivered": DELIVERED,
    }.get(kind, NEW), None


def parse_shipment(body: Mapping[str, Any]) -> Shipment:
    """`{status, recipients: [{type: "Email"|"SMS", destination, status, lastUpdate}]}`; entries
    without a destination are left out."""
    recipients = []
    for r in body.get("recipients") or []:
        if not isinstance(r, Mapping) or not r.get("destination"):
            continue
        channel = SMS if str(r.get("type", "")).lower() == "sms" else EMAIL
        status, reason = reported_status(str(r.get("status") or ""))
        recipients.append(ReportedDelivery(channel, str(r["destination"])[:320], status, reason))
    return Shipment(str(body.get("status") or ""), tuple(recipients))


def next_check(attempts: int, backoff: tuple[float, ...]) -> timedelta | None:
    """The wait after the `attempts`-th check that found the order not final; None: give up."""
    if attempts > len(backoff):
        return None
    return timedelta(seconds=backoff[attempts - 1])


# Details: NotificationStatusV2 names (SPEC.md §5.6).
_SHOWN = {
    EMAIL: {
        NEW: "Email_New",
        SENDING: "Email_Sending",
        SUCCEEDED: "Email_Succeeded",
        DELIVERED: "Email_Delivered",
        FAILED: "Email_Failed",
    },
    SMS: {
        NEW: "SMS_New",
        SENDING: "SMS_Sending",
        SUCCEEDED: "SMS_Accepted",
        DELIVERED: "SMS_Delivered",
        FAILED: "SMS_Failed",
    },
}


def details_entry(delivery: Mapping[str, Any]) -> dict[str, Any]:
    """One address in Altinn's NotificationDetailsExt shape (snake_case; the schema names it)."""
    channel = delivery["channel"]
    return {
        "id": None,
        "succeeded": delivery["status"] in SENT,
        "recipient": {
            "email_address": delivery["address"] if channel == EMAIL else None,
            "mobile_number": delivery["address"] if channel == SMS else None,
            "organization_number": None,
            "national_identity_number": None,
            "is_reserved": None,
        },
        "send_status": {
            "status": _SHOWN[channel].get(delivery["status"], "Unknown"),
            "description": delivery["reason"],
            "last_update": delivery["updated"],
        },
    }


def status_details(deliveries: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """notificationStatusDetails of one order: `email`/`sms` the first of each, `emails`/`smses` all."""
    emails = [details_entry(d) for d in deliveries if d["channel"] == EMAIL]
    smses = [details_entry(d) for d in deliveries if d["channel"] == SMS]
    if not emails and not smses:
        return None
    return {
        "email": emails[0] if emails else None,
        "sms": smses[0] if smses else None,
        "emails": emails,
        "smses": smses,
    }
