"""Builders shared by the notification-order unit tests (plain values, no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.notification_orders import Contact, CorrespondenceForOrders, NotificationOrder, build_orders
from app.domain.notification_rules import TEXT_FIELDS

CORR_ID = uuid.UUID("01900000-0000-7000-8000-000000000001")
ORG = "310654329"
ORG_URN = f"urn:altinn:organization:identifier-no:{ORG}"
SSN = "08900499559"
PERSON_URN = f"urn:altinn:person:identifier-no:{SSN}"
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
PUBLISH = NOW + timedelta(hours=2)
DELAY = timedelta(days=1)
BASE = "https://corr.example.no"
CONDITION = f"{BASE}/correspondence/api/v1/correspondence/{CORR_ID}/notification/check"
RESOURCE = "urn:altinn:resource:demo-resource"

# SPEC.md §5.3: the CustomMessage template is `{textToken}` in every field.
CUSTOM_TEMPLATE = {name: "{textToken}" for name in TEXT_FIELDS}
# SPEC.md §5.3: GenericAltinnMessage, nb.
GENERIC_NB = {
    "email_subject": "En melding har blitt mottatt i Altinn {textToken}",
    "email_body": "Hei. $correspondenceRecipientName$ har mottatt en ny melding fra $sendersName$. "
    "{textToken}Logg deg inn i Altinn for å se denne meldingen.",
    "sms_body": "Hei. $correspondenceRecipientName$ har mottatt en ny melding fra $sendersName$. "
    "{textToken}Logg deg inn i Altinn for å se denne meldingen.",
    "reminder_email_subject": "Påminnelse - en melding har blitt mottatt i Altinn {textToken}",
    "reminder_email_body": "Hei. Dette er en påminnelse om at $correspondenceRecipientName$ har mottatt en ny "
    "melding fra $sendersName$. {textToken}Logg deg inn i Altinn for å se denne meldingen.",
    "reminder_sms_body": "Hei. Dette er en påminnelse om at $correspondenceRecipientName$ har mottatt en ny "
    "melding fra $sendersName$. {textToken}Logg deg inn i Altinn for å se denne meldingen.",
}

TEXTS = {
    "email_subject": "Subject",
    "email_body": "Body",
    "sms_body": "Sms",
    "reminder_email_subject": "R subject",
    "reminder_email_body": "R body",
    "reminder_sms_body": "R sms",
}


def notification(**overrides: Any) -> dict[str, Any]:
    """A stored notification request as Initialize keeps it (every key present, snake_case)."""
    base: dict[str, Any] = {
        "notification_template": 0,
        "notification_channel": 0,
        "email_content_type": 0,
        "send_reminder": False,
        "reminder_notification_channel": None,
        "reminder_email_content_type": None,
        "senders_reference": None,
        "custom_recipients": None,
        "custom_recipient": None,
        "custom_notification_recipients": None,
        "override_registered_contact_information": False,
        **TEXTS,
    }
    base.update(overrides)
    return base


def correspondence(recipient: str = ORG_URN, **overrides: Any) -> CorrespondenceForOrders:
    values: dict[str, Any] = dict(
        id=CORR_ID,
        recipient=recipient,
        resource_id="demo-resource",
        senders_reference="ref-1",
        requested_publish_time=PUBLISH,
        ignore_reservation=None,
        message_title="Tittel",
        language="nb",
        notification=notification(),
        senders_name="Digdir",
        recipient_name="Eksempel AS",
        resource_name="Demotjeneste",
    )
    values.update(overrides)
    return CorrespondenceForOrders(**values)


def orders(
    corr: CorrespondenceForOrders | None = None,
    *,
    templates: dict[str, str] | None = None,
    contacts: dict[str, Contact] | None = None,
    now: datetime = NOW,
    base_url: str | None = BASE,
) -> list[NotificationOrder]:
    return build_orders(
        corr or correspondence(),
        CUSTOM_TEMPLATE if templates is None else templates,
        contacts or {},
        now=now,
        reminder_delay=DELAY,
        base_url=base_url,
    )


def with_notification(
    recipient: str = ORG_URN, *, contacts: dict[str, Contact] | None = None, **overrides: Any
) -> list[NotificationOrder]:
    return orders(correspondence(recipient, notification=notification(**overrides)), contacts=contacts)


def summary(result: list[NotificationOrder]) -> list[tuple[str, bool]]:
    """(plan key, is_reminder) per order, in the order built."""
    return [(o.plan.key, o.is_reminder) for o in result]


def main_id(key: str) -> str:
    return str(expected_order_id(CORR_ID, f"{key}:main"))


def expected_order_id(correspondence_id: uuid.UUID, name: str) -> uuid.UUID:
    """An order's id: the correspondence id's first 8 bytes, then the last 8 of uuid5(it, name)."""
    return uuid.UUID(bytes=correspondence_id.bytes[:8] + uuid.uuid5(correspondence_id, name).bytes[8:])
