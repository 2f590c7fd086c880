"""Response models (SPEC §3.2, §3.4, §3.5, §3.11): typed views of the service's JSON.

`from_json` reads camelCase keys (case-insensitively, unknown keys ignored, missing ones None);
every model keeps the JSON it came from in `raw`, so fields a later service version adds are still
at hand.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")
FINAL_ORDER_STATUSES = ("Success", "MissingContact", "Failure")
# An address's sendStatus once it is final (Notifications' NotificationStatusV2 names).
DELIVERED_PREFIXES = ("Email_Succeeded", "Email_Delivered", "SMS_Accepted", "SMS_Delivered")
NOT_FINAL_SEND_STATUSES = ("Email_New", "Email_Sending", "SMS_New", "SMS_Sending")


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value not in (None, "") else None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _list_of(cls: type) -> Callable[[Any], list]:
    return lambda value: [cls.from_json(v) for v in value or []]


def _uuids(value: Any) -> list[uuid.UUID]:
    return [uuid.UUID(str(v)) for v in value or []]


def _conv(fn: Callable[[Any], Any]) -> Any:
    """A field converted from its JSON value; absent or null stays None."""
    return field(default=None, metadata={"conv": fn})


def _items(fn: Callable[[Any], list]) -> Any:
    """A list field: absent or null is []."""
    return field(default_factory=list, metadata={"conv": fn, "always": True})


class _Model:
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls: type[T], data: Mapping[str, Any] | None) -> T:
        data = data or {}
        lowered = {str(k).lower(): v for k, v in data.items()}
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name == "raw" or f.metadata.get("client"):
                continue
            key = f.metadata.get("json", _camel(f.name)).lower()
            value = lowered.get(key)
            conv = f.metadata.get("conv")
            if conv and (value is not None or f.metadata.get("always")):
                value = conv(value)
            values[f.name] = value
        return cls(raw=dict(data), **values)  # type: ignore[call-arg]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass
class NotificationOrderSummary(_Model):
    """An order in an Initialize answer under `Prefer: wait` (SPEC §5.7 historical shape)."""

    order_id: uuid.UUID | None = _conv(_uuid)
    is_reminder: bool | None = None
    status: str | None = None  # Success, MissingContact, Failure
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class InitializedCorrespondence(_Model):
    correspondence_id: uuid.UUID | None = _conv(_uuid)
    status: str | None = None  # Initialized, ReadyForPublish, Reserved (or later, when recovered)
    recipient: str | None = None  # normalized URN
    notifications: list[NotificationOrderSummary] | None = _conv(_list_of(NotificationOrderSummary))
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class InitializeResponse(_Model):
    correspondences: list[InitializedCorrespondence] = _items(_list_of(InitializedCorrespondence))
    attachment_ids: list[uuid.UUID] = _items(_uuids)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # Set by the client, not the service: the answer was rebuilt from search + overview because an
    # earlier attempt (or an earlier run) had already created these correspondences.
    recovered: bool = field(default=False, metadata={"client": True})

    def ids_by_recipient(self) -> dict[str, uuid.UUID | None]:
        return {c.recipient or "": c.correspondence_id for c in self.correspondences}


@dataclass
class StatusEntry(_Model):
    status: str | None = None
    status_text: str | None = None
    status_changed: datetime | None = _conv(_time)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class CorrespondenceAttachment(_Model):
    id: uuid.UUID | None = _conv(_uuid)
    file_name: str | None = None
    display_name: str | None = None
    is_encrypted: bool | None = None
    checksum: str | None = None
    senders_reference: str | None = None
    data_location_type: str | None = None
    created: datetime | None = _conv(_time)
    status: str | None = None
    status_text: str | None = None
    status_changed: datetime | None = _conv(_time)
    data_type: str | None = None
    expiration_time: datetime | None = _conv(_time)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class ContentView(_Model):
    language: str | None = None
    message_title: str | None = None
    message_summary: str | None = None
    message_body: str | None = None
    attachments: list[CorrespondenceAttachment] = _items(_list_of(CorrespondenceAttachment))
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class NotificationOrder(_Model):
    """A recorded notification order, as overview and details show it."""

    notification_order_id: uuid.UUID | None = _conv(_uuid)
    order_id: uuid.UUID | None = _conv(_uuid)
    is_reminder: bool | None = None
    status: str | None = None  # Success, MissingContact, Failure
    notification_channel: str | None = None
    addresses: list[str] | None = None
    # Per address (NotificationDetailsExt: succeeded, recipient, sendStatus) once the service follows
    # the order's delivery; None when it does not (the local gateway).
    notification_status_details: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def deliveries(self) -> list[Mapping[str, Any]]:
        details = self.notification_status_details or {}
        return [*(details.get("emails") or []), *(details.get("smses") or [])]

    @property
    def delivery_final(self) -> bool:
        """Every address has its outcome (true when the order's delivery is not followed)."""
        return all(
            (d.get("sendStatus") or {}).get("status") not in NOT_FINAL_SEND_STATUSES for d in self.deliveries
        )

    @property
    def delivered(self) -> int:
        return sum(1 for d in self.deliveries if d.get("succeeded"))

    @property
    def failed(self) -> int:
        return sum(
            1
            for d in self.deliveries
            if str((d.get("sendStatus") or {}).get("status", "")).find("Failed") >= 0
        )


@dataclass
class CorrespondenceOverview(_Model):
    correspondence_id: uuid.UUID | None = _conv(_uuid)
    resource_id: str | None = None
    sender: str | None = None
    senders_reference: str | None = None
    message_sender: str | None = None
    recipient: str | None = None
    content: ContentView | None = _conv(ContentView.from_json)
    requested_publish_time: datetime | None = _conv(_time)
    due_date_time: datetime | None = _conv(_time)
    property_list: dict[str, str] | None = None
    ignore_reservation: bool | None = None
    is_confirmation_needed: bool | None = None
    is_confidential: bool | None = None
    allow_forwarding: bool | None = None
    created: datetime | None = _conv(_time)
    status: str | None = None
    status_text: str | None = None
    status_changed: datetime | None = _conv(_time)
    notifications: list[NotificationOrder] = _items(_list_of(NotificationOrder))
    published: datetime | None = _conv(_time)
    read: datetime | None = _conv(_time)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class CorrespondenceDetails(CorrespondenceOverview):
    status_history: list[StatusEntry] = _items(_list_of(StatusEntry))
    system_label: str | None = None


@dataclass
class AttachmentOverview(_Model):
    attachment_id: uuid.UUID | None = _conv(_uuid)
    resource_id: str | None = None
    sender: str | None = None
    file_name: str | None = None
    display_name: str | None = None
    checksum: str | None = None
    senders_reference: str | None = None
    expiration_in_days: int | None = None
    status: str | None = None  # Initialized, UploadProcessing, Published, Failed, Purged, ...
    status_text: str | None = None
    status_changed: datetime | None = _conv(_time)
    correspondence_ids: list[uuid.UUID] = _items(_uuids)
    data_type: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class AttachmentDetails(AttachmentOverview):
    status_history: list[StatusEntry] = _items(_list_of(StatusEntry))
