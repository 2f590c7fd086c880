"""Events to subscribers (SPEC.md §5.8): CloudEvents 1.0, Standard Webhooks signatures, retry timing,
subscription filters. Pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.security.identity import ORG_URN, PERSON_URN

TYPE_PREFIX = "no.altinn.correspondence."
RESOURCE_PREFIX = "urn:altinn:resource:"
VALIDATION_TYPE = "platform.events.validatesubscription"
SECRET_PREFIX = "whsec_"
# Stable CloudEvent ids: the same outbox row (and correspondence, for an expanded row) always gives
# the same id, so a retried fan-out or delivery never makes a second event.
_NAMESPACE = uuid.UUID("5b0d6f0e-9b7c-4f55-9a4e-13a1c0e5e7d1")

NAMES = frozenset(
    {
        "attachmentinitialized",
        "attachmentuploadprocessing",
        "attachmentpublished",
        "attachmentuploadfailed",
        "attachmentpurged",
        "attachmentdownloaded",
        "attachmentexpired",
        "correspondenceinitialized",
        "correspondencepublished",
        "correspondencearchived",
        "correspondencepurged",
        "correspondencepublishfailed",
        "correspondencereceiverread",
        "correspondencereceiverconfirmed",
        "correspondencereceiverreplied",
        "correspondencereceiverneverconfirmed",
        "correspondencereceiverreserved",
        "correspondencereceiverneverread",
        "notificationcreated",
        "correspondencenotificationcreationfailed",
        "correspondencenotificationfailed",
        "correspondencenotificationallfailed",
        "correspondencenotificationdelivered",
        "correspondencenotificationreminderdelivered",
        # Not in Altinn's list: a recipient forwarded the correspondence (SPEC.md §3.10).
        "correspondenceforwarded",
    }
)


# Altinn publishes every correspondence event with the sender as subject, except these, which are
# the recipient's (PublishCorrespondenceHandler, CorrespondenceDueDateHandler). None of them happens
# before publication, so a recipient's subscription never learns of a correspondence early.
RECIPIENT_SUBJECT = frozenset(
    {"correspondencepublished", "correspondencereceiverneverread", "correspondencereceiverneverconfirmed"}
)
# Ours, not Altinn's (docs/sending.md, "Events to subscribers").
NOT_FROM_ALTINN = frozenset({"correspondenceforwarded", "attachmentdownloaded"})


def subject_of(name: str, sender: str | None, recipient: str | None) -> str | None:
    """The CloudEvent's subject as Altinn sets it for this event type."""
    return recipient if name in RECIPIENT_SUBJECT else sender


def event_type(name: str) -> str:
    return TYPE_PREFIX + name


def source_kind(name: str) -> str:
    """The last part of the CloudEvent's `source`: Altinn's notificationcreated names the order; every
    other notification event names its correspondence."""
    if name.startswith("attachment"):
        return "attachment"
    if name == "notificationcreated":
        return "notification"
    return "correspondence"


def event_id(outbox_row_id: int, instance: uuid.UUID | str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{outbox_row_id}/{instance}")


def alternative_subject(party_urn: str | None) -> str | None:
    if party_urn and party_urn.startswith(ORG_URN):
        return "/organisation/" + party_urn[len(ORG_URN) :]
    if party_urn and party_urn.startswith(PERSON_URN):
        return "/person/" + party_urn[len(PERSON_URN) :]
    return None


@dataclass(frozen=True)
class OutboxEvent:
    """One CloudEvent of an outbox row (an Initialize row gives one per correspondence)."""

    row_id: int
    name: str
    created: datetime
    resource_id: str
    instance: uuid.UUID
    subject: str | None

    @property
    def id(self) -> uuid.UUID:
        return event_id(self.row_id, self.instance)

    @property
    def type(self) -> str:
        return event_type(self.name)

    @property
    def resource(self) -> str:
        return RESOURCE_PREFIX + self.resource_id


def cloud_event(event: OutboxEvent, base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(event.id),
        "source": f"{base_url.rstrip('/')}/correspondence/api/v1/{source_kind(event.name)}",
        "type": event.type,
        "time": event.created.isoformat(),
        "resource": event.resource,
        "resourceinstance": str(event.instance),
        "subject": event.subject,
        "datacontenttype": "application/json",
    }
    alternative = alternative_subject(event.subject)
    if alternative:
        body["alternativesubject"] = alternative
    return body


def validation_event(subscription_id: int, base_url: str, now: datetime) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid5(_NAMESPACE, f"validate/{subscription_id}")),
        "source": f"{base_url.rstrip('/')}/events/api/v1/subscriptions/{subscription_id}",
        "type": VALIDATION_TYPE,
        "time": now.isoformat(),
    }


@dataclass(frozen=True)
class Subscription:
    id: int
    resource_filter: str
    type_filter: str | None
    subject_filter: str | None
    created: datetime | None = None  # events before it are not its own

    def matches(self, event: OutboxEvent) -> bool:
        return (
            self.resource_filter == event.resource
            and (self.type_filter is None or self.type_filter == event.type)
            and (self.subject_filter is None or self.subject_filter == event.subject)
            and (self.created is None or event.created >= self.created)
        )


def matches(
    subscriptions: Iterable[Subscription], events: Iterable[OutboxEvent]
) -> list[tuple[int, OutboxEvent]]:
    by_resource: dict[str, list[Subscription]] = {}
    for s in subscriptions:
        by_resource.setdefault(s.resource_filter, []).append(s)
    return [(s.id, e) for e in events for s in by_resource.get(e.resource, ()) if s.matches(e)]


# Standard Webhooks (https://www.standardwebhooks.com): whsec_<base64 key>; v1,<base64 HMAC-SHA256>.
def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (tests, README): any v1 signature of the header list matches."""
    expected = signature(secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 2.0
    max_interval_seconds: float = 3600.0
    give_up_after: timedelta = timedelta(hours=24)

    def next_delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Exponential, capped, with full jitter between half and all of it: 1-2 s, 2-4 s, ... ≤ 1 h."""
        ceiling = min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_interval_seconds)
        return (rng or random).uniform(ceiling / 2, ceiling)

    def gives_up(self, created: datetime, now: datetime) -> bool:
        return now - created >= self.give_up_after


def notification_events(
    recorded: Iterable[tuple[Any, Any]],
) -> list[tuple[str, uuid.UUID, str | None, uuid.UUID | None]]:
    """(event, correspondence id, subject, order id) per recorded order: created (its instance is the
    notification order, as Altinn's), or creation failed (the correspondence). The subject is decided
    at fan-out (`subject_of`)."""
    rows: list[tuple[str, uuid.UUID, str | None, uuid.UUID | None]] = []
    for order, outcome in recorded:
        if outcome.status != "Success":
            rows.append(("correspondencenotificationcreationfailed", order.correspondence_id, None, None))
        else:
            order_id = getattr(outcome, "notification_order_id", None) or order.id
            rows.append(("notificationcreated", order.correspondence_id, None, order_id))
    return rows
