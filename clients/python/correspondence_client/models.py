"""Request models (Altinn Correspondence API, SPEC §3.2, §3.3, §3.11, §5.1) and their JSON form.

Plain dataclasses with snake_case fields; `to_json()` writes the camelCase JSON the service reads
(`linkURL` keeps its capitals), leaves out fields that are None, writes datetimes as ISO 8601 and
UUIDs as strings. Enum-like fields are strings (`"Email"`, `"CustomMessage"`); the service also
accepts their numbers. Anything the models do not cover can be sent as a plain dict in their place
(`InitializeRequest(correspondence={...})`): dicts pass through unchanged.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# snake_case names whose JSON spelling is not plain camelCase
_JSON_NAMES = {"link_url": "linkURL"}


def _camel(name: str) -> str:
    if name in _JSON_NAMES:
        return _JSON_NAMES[name]
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_json(value: Any) -> Any:
    """A model (or list/dict of models) as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None:
                continue
            if f.metadata.get("verbatim_keys"):  # propertyList: the keys are the sender's own
                out[_camel(f.name)] = {str(k): str(v) for k, v in item.items()}
            else:
                out[_camel(f.name)] = to_json(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


@dataclass(kw_only=True)
class AttachmentMetadata:
    """One new file of a multipart Initialize (`content.attachments[i]`); its bytes go in `files`."""

    file_name: str
    senders_reference: str
    display_name: str | None = None
    is_encrypted: bool | None = None
    checksum: str | None = None  # MD5, 32 lower-case hex digits
    expiration_in_days: int | None = None
    data_location_type: str | None = None


@dataclass(kw_only=True)
class Content:
    message_title: str
    message_body: str  # markdown, no raw HTML
    language: str = "nb"
    message_summary: str | None = None
    attachments: list[AttachmentMetadata] = field(default_factory=list)


@dataclass(kw_only=True)
class NotificationRecipient:
    email_address: str | None = None
    mobile_number: str | None = None
    organization_number: str | None = None
    national_identity_number: str | None = None


@dataclass(kw_only=True)
class Notification:
    notification_channel: str = "Email"  # Email, Sms, EmailPreferred, SmsPreferred, EmailAndSms
    notification_template: str = "CustomMessage"  # or GenericAltinnMessage
    email_subject: str | None = None
    email_body: str | None = None
    email_content_type: str | None = None  # Plain or Html
    sms_body: str | None = None
    send_reminder: bool | None = None
    reminder_email_subject: str | None = None
    reminder_email_body: str | None = None
    reminder_email_content_type: str | None = None
    reminder_sms_body: str | None = None
    reminder_notification_channel: str | None = None
    custom_recipients: list[NotificationRecipient] | None = None
    override_registered_contact_information: bool | None = None


@dataclass(kw_only=True)
class ReplyOption:
    link_url: str  # https:// only
    link_text: str | None = None


@dataclass(kw_only=True)
class ExternalReference:
    reference_value: str
    reference_type: str  # Generic, AltinnAppInstance, AltinnBrokerFileTransfer, DialogportenDialogId, ...


@dataclass(kw_only=True)
class Correspondence:
    """`correspondence` of an Initialize: what every recipient of the request shares."""

    resource_id: str
    senders_reference: str
    content: Content
    message_sender: str | None = None
    requested_publish_time: datetime | None = None
    due_date_time: datetime | None = None
    external_references: list[ExternalReference] | None = None
    property_list: dict[str, str] | None = field(default=None, metadata={"verbatim_keys": True})
    reply_options: list[ReplyOption] | None = None
    notification: Notification | None = None
    ignore_reservation: bool | None = None
    is_confirmation_needed: bool | None = None
    is_confidential: bool | None = None
    allow_forwarding: bool | None = None


@dataclass(kw_only=True)
class InitializeRequest:
    """`POST /correspondence`: one correspondence per recipient (at most 500).

    `idempotent_key` is allowed with one recipient only (the service answers 1047 otherwise);
    `CorrespondenceClient.initialize` sets one itself for single-recipient requests.
    """

    correspondence: Correspondence | Mapping[str, Any]
    recipients: list[str]
    existing_attachments: list[uuid.UUID | str] = field(default_factory=list)
    idempotent_key: uuid.UUID | None = None

    def to_json(self) -> dict[str, Any]:
        return to_json(self)

    @property
    def resource_id(self) -> str:
        return str(_get(self.correspondence, "resource_id"))

    @property
    def senders_reference(self) -> str:
        return str(_get(self.correspondence, "senders_reference"))

    def with_changes(self, **changes: Any) -> InitializeRequest:
        return dataclasses.replace(self, **changes)


@dataclass(kw_only=True)
class InitializeAttachment:
    """`POST /attachment`: a shared attachment, uploaded with `upload_attachment`, then linked by id."""

    resource_id: str
    file_name: str
    senders_reference: str
    display_name: str | None = None
    is_encrypted: bool | None = None
    checksum: str | None = None
    expiration_in_days: int | None = None

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


@dataclass(kw_only=True)
class ForwardRequest:
    forward_to: str  # an e-mail address
    forwarding_text: str | None = None

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def _get(obj: Any, snake: str) -> Any:
    """A field of a model, or of the equivalent JSON dict (whose names the service reads case-insensitively)."""
    if not isinstance(obj, Mapping):
        return getattr(obj, snake)
    wanted = _camel(snake).lower()
    for key, value in obj.items():
        if str(key).lower() == wanted:
            return value
    return None


def form_fields(body: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The JSON form of a request as multipart form fields (SPEC §3.3): `a.b[0].c`, `propertyList[key]`."""
    out: list[tuple[str, str]] = []
    for key, value in body.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if value is None:
            continue
        if str(key).lower() == "propertylist" and isinstance(value, Mapping):
            out.extend((f"{name}[{k}]", str(v)) for k, v in value.items())
        elif isinstance(value, Mapping):
            out.extend(form_fields(value, name))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    out.extend(form_fields(item, f"{name}[{i}]"))
                elif item is not None:
                    out.append((f"{name}[{i}]", _scalar(item)))
        else:
            out.append((name, _scalar(value)))
    return out


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
