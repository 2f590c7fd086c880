"""Building the notification orders of one correspondence (SPEC.md §5.3–§5.4, DESIGN.md §6). Pure.

Each recipient plan yields a main order and, with `sendReminder`, a separate reminder order (the
seed's shape, SPEC.md §5.7). Order ids are deterministic: a retried or duplicated build always
yields the same ids. They are the correspondence id's first 8 bytes (its millisecond and counter:
uuid7) and the last 8 of uuid5(correspondence id, plan key + phase), so orders are written in id
order: random ids (plain uuid5, before migration 0022) scattered every insert over the whole primary
key, which at a million recipients no longer fits in memory (issue 29).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from app.domain import recipients as recipient_rules
from app.domain.enums import EmailContentType
from app.domain.enums import NotificationChannel as Ch
from app.domain.notification_rules import effective_custom_recipients, normalize_mobile, render_template_text

SUCCESS, MISSING_CONTACT, FAILURE = "Success", "MissingContact", "Failure"
EMAIL_CHANNELS = {Ch.Email, Ch.EmailAndSms, Ch.EmailPreferred}
SMS_CHANNELS = {Ch.Sms, Ch.EmailAndSms, Ch.SmsPreferred}


@dataclass(frozen=True)
class RecipientPlan:
    """Who one order goes to. kind: organization | person | external | email | sms."""

    kind: str
    value: str
    main: bool = True
    reminder: bool = True

    @property
    def key(self) -> str:
        prefix = {"organization": "org", "person": "nin", "external": "ext", "email": "email", "sms": "sms"}
        value = self.value.lower() if self.kind in {"external", "email"} else self.value
        return f"{prefix[self.kind]}:{value}"


@dataclass(frozen=True)
class Contact:
    """A party's contact points as the register knows them."""

    name: str
    emails: tuple[str, ...] = ()
    mobiles: tuple[str, ...] = ()
    reserved: bool = False


@dataclass(frozen=True)
class NotificationOrder:
    id: uuid.UUID
    correspondence_id: uuid.UUID
    is_reminder: bool
    plan: RecipientPlan
    template: int
    channel: int
    requested_send_time: datetime
    email_subject: str | None
    email_body: str | None
    email_content_type: int
    sms_body: str | None
    ignore_reservation: bool | None
    resource_id: str = ""
    senders_reference: str = ""
    # Where Altinn Notifications asks whether to send (our condition endpoint); None without a base URL.
    condition_endpoint: str | None = None


@dataclass(frozen=True)
class OrderOutcome:
    status: str
    addresses: tuple[str, ...] = ()
    notification_order_id: uuid.UUID | None = None
    shipment_id: uuid.UUID | None = None
    reason: str | None = None
    # What the gateway sent, in its own wire format (stored with the order); None when nothing was sent.
    request: dict[str, Any] | None = None
    # The addresses the gateway itself sends to, recorded with the order (PlannedDelivery; smtp gateway).
    deliveries: tuple[Any, ...] = ()


class GatewayUnavailable(Exception):
    """A transient gateway failure: the order may be tried again later."""


class NotificationGateway(Protocol):
    name: str

    def create_order(self, order: NotificationOrder, contacts: dict[str, Contact]) -> OrderOutcome:
        """Create one order; raise GatewayUnavailable for a failure worth retrying."""


@dataclass(frozen=True)
class CorrespondenceForOrders:
    """What order building needs to know about one correspondence."""

    id: uuid.UUID
    recipient: str
    resource_id: str
    senders_reference: str
    requested_publish_time: datetime
    ignore_reservation: bool | None
    message_title: str
    language: str
    notification: dict[str, Any]
    senders_name: str
    recipient_name: str
    resource_name: str


def _order_name(plan: RecipientPlan, is_reminder: bool) -> str:
    """The uuid5 name of an order within its correspondence."""
    return f"{plan.key}:{'reminder' if is_reminder else 'main'}"


def order_id(correspondence_id: uuid.UUID, plan: RecipientPlan, is_reminder: bool) -> uuid.UUID:
    cid = correspondence_id.bytes
    # uuid5's SHA-1 (namespace bytes, then the name), its bytes 8-15 with the RFC 4122 variant bits.
    digest = hashlib.sha1(cid + _order_name(plan, is_reminder).encode()).digest()
    return uuid.UUID(bytes=cid[:8] + bytes((digest[8] & 0x3F | 0x80,)) + digest[9:16])


def legacy_order_id(correspondence_id: uuid.UUID, plan: RecipientPlan, is_reminder: bool) -> uuid.UUID:
    """The id the same order had before migration 0022: orders of a correspondence whose outbox row
    was claimed before may be recorded under it."""
    return uuid.uuid5(correspondence_id, _order_name(plan, is_reminder))


def recorded_ids(order: NotificationOrder) -> tuple[uuid.UUID, uuid.UUID]:
    """The ids under which this order may already be recorded: its own, and its id before 0022."""
    return order.id, legacy_order_id(order.correspondence_id, order.plan, order.is_reminder)


def recipient_plan(urn: str) -> RecipientPlan:
    if recipient_rules.is_organization(urn):
        return RecipientPlan("organization", recipient_rules.identifier(urn))
    if recipient_rules.is_person_ssn(urn):
        return RecipientPlan("person", recipient_rules.identifier(urn))
    return RecipientPlan("external", urn)


def build_plans(corr: CorrespondenceForOrders, contacts: dict[str, Contact]) -> list[RecipientPlan]:
    """The correspondence recipient (unless overridden) plus custom recipients, deduplicated."""
    n = corr.notification
    plans: list[RecipientPlan] = []
    if not n.get("override_registered_contact_information"):
        plans.append(recipient_plan(corr.recipient))
    for custom in effective_custom_recipients(n):
        custom = custom or {}
        if custom.get("organization_number"):
            plans.append(RecipientPlan("organization", custom["organization_number"].strip()))
        elif custom.get("national_identity_number"):
            plans.append(RecipientPlan("person", custom["national_identity_number"].strip()))
        elif custom.get("email_address"):
            plans.append(
                _deduplicated(RecipientPlan("email", custom["email_address"].strip()), corr, contacts)
            )
        elif custom.get("mobile_number"):
            mobile = normalize_mobile(custom["mobile_number"].strip()) or custom["mobile_number"].strip()
            plans.append(_deduplicated(RecipientPlan("sms", mobile), corr, contacts))
    unique: dict[str, RecipientPlan] = {}
    for plan in plans:
        if not (plan.main or plan.reminder):
            continue
        if plan.key in unique:
            old = unique[plan.key]
            plan = RecipientPlan(plan.kind, plan.value, old.main or plan.main, old.reminder or plan.reminder)
        unique[plan.key] = plan
    return list(unique.values())


def _deduplicated(
    plan: RecipientPlan, corr: CorrespondenceForOrders, contacts: dict[str, Contact]
) -> RecipientPlan:
    """Drop a custom address for each phase whose organization order already reaches it (§5.4)."""
    if not recipient_rules.is_organization(corr.recipient) or corr.notification.get(
        "override_registered_contact_information"
    ):
        return plan
    org = contacts.get(corr.recipient)
    if org is None:
        return plan
    main, reminder = _channels(corr.notification)
    known = (
        {e.lower() for e in org.emails}
        if plan.kind == "email"
        else {normalize_mobile(m) or m for m in org.mobiles}
    )
    reaching = EMAIL_CHANNELS if plan.kind == "email" else SMS_CHANNELS
    if not known or plan.value.lower() not in {k.lower() for k in known}:
        return plan
    send_reminder = bool(corr.notification.get("send_reminder"))
    return RecipientPlan(
        plan.kind, plan.value, main=main not in reaching, reminder=send_reminder and reminder not in reaching
    )


def _channels(n: dict[str, Any]) -> tuple[int, int]:
    main = n.get("notification_channel")
    main = Ch.Email if main is None else main
    reminder = n.get("reminder_notification_channel")
    return main, main if reminder is None else reminder


def build_orders(
    corr: CorrespondenceForOrders,
    templates: dict[str, str],
    contacts: dict[str, Contact],
    *,
    now: datetime,
    reminder_delay: timedelta,
    base_url: str | None,
) -> list[NotificationOrder]:
    """All orders of one correspondence, in a stable order (main before reminder, plan order)."""
    n = corr.notification
    main_channel, reminder_channel = _channels(n)
    send_time = max(now, corr.requested_publish_time)
    values = {
        "sendersName": corr.senders_name,
        "correspondenceRecipientName": corr.recipient_name,
        "resourceName": corr.resource_name,
        "messageTitle": corr.message_title,
    }

    def text(name: str) -> str:
        return render_template_text(templates.get(name), n.get(name), values)

    orders: list[NotificationOrder] = []
    for plan in build_plans(corr, contacts):
        phases = []
        if plan.main:
            phases.append((False, main_channel, send_time, "", n.get("email_content_type")))
        if plan.reminder and n.get("send_reminder"):
            reminder_type = n.get("reminder_email_content_type")
            phases.append(
                (
                    True,
                    reminder_channel,
                    send_time + reminder_delay,
                    "reminder_",
                    n.get("email_content_type") if reminder_type is None else reminder_type,
                )
            )
        for is_reminder, channel, at, prefix, content_type in phases:
            if plan.kind == "email":
                channel = Ch.Email
            elif plan.kind == "sms":
                channel = Ch.Sms
            subject, body, sms = (
                text(prefix + "email_subject"),
                text(prefix + "email_body"),
                text(prefix + "sms_body"),
            )
            content_type = EmailContentType.Plain if content_type is None else content_type
            order = NotificationOrder(
                id=order_id(corr.id, plan, is_reminder),
                correspondence_id=corr.id,
                is_reminder=is_reminder,
                plan=plan,
                template=n.get("notification_template") or 0,
                channel=channel,
                requested_send_time=at,
                email_subject=subject if subject and body else None,
                email_body=body if subject and body else None,
                email_content_type=content_type,
                sms_body=sms or None,
                ignore_reservation=corr.ignore_reservation,
                resource_id=corr.resource_id,
                senders_reference=corr.senders_reference,
                condition_endpoint=_condition_endpoint(corr.id, is_reminder, base_url),
            )
            orders.append(order)
    return orders


def _condition_endpoint(correspondence_id: uuid.UUID, is_reminder: bool, base_url: str | None) -> str | None:
    """Our endpoint Altinn Notifications asks before sending (SPEC.md §5.5)."""
    if not base_url:
        return None
    suffix = "check" if is_reminder else "check/main"
    return f"{base_url.rstrip('/')}/correspondence/api/v1/correspondence/{correspondence_id}/notification/{suffix}"


def resolve_addresses(order: NotificationOrder, contacts: dict[str, Contact]) -> tuple[str, ...]:
    """Where the local register says this order would be delivered; empty = no contact point."""
    plan = order.plan
    if plan.kind == "email":
        return (plan.value,)
    if plan.kind == "sms":
        return (plan.value,)
    if plan.kind == "organization":
        contact = contacts.get(f"{recipient_rules.ORGANIZATION_PREFIX}:{plan.value}")
    elif plan.kind == "person":
        contact = contacts.get(f"{recipient_rules.PERSON_PREFIX}:{plan.value}")
        if contact and contact.reserved and order.ignore_reservation is not True:
            return ()
    else:
        contact = contacts.get(plan.value)
        if contact is None and plan.value.startswith(recipient_rules.IDPORTEN_EMAIL_PREFIX + ":"):
            contact = Contact(name=plan.value, emails=(recipient_rules.identifier(plan.value),))
    if contact is None:
        return ()
    emails, mobiles = tuple(contact.emails), tuple(contact.mobiles)
    channel = order.channel
    if channel == Ch.Email:
        return emails
    if channel == Ch.Sms:
        return mobiles
    if channel == Ch.EmailPreferred:
        return emails or mobiles
    if channel == Ch.SmsPreferred:
        return mobiles or emails
    return emails + mobiles


def contact_urns(recipient: str, notification: dict[str, Any]) -> list[str]:
    """Party URNs whose contact points the orders of one correspondence may need."""
    urns = [recipient]
    for custom in effective_custom_recipients(notification):
        custom = custom or {}
        if custom.get("organization_number"):
            urns.append(f"{recipient_rules.ORGANIZATION_PREFIX}:{custom['organization_number'].strip()}")
        elif custom.get("national_identity_number"):
            urns.append(f"{recipient_rules.PERSON_PREFIX}:{custom['national_identity_number'].strip()}")
    return urns
