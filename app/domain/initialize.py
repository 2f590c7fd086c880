"""Initialize as pure rules (SPEC.md §4.1): the facts the rules need and one ladder in the order of
the contract. No Flask, Celery or SQL.

The use case loads `InitializeFacts` first (idempotency key, resource, parties, attachments,
template), then calls `decide`, which raises `CorrespondenceError` at the first broken rule and
otherwise returns a `ValidInitialize`; `app.domain.initialize_rows.new_rows` turns that into what is
written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from app.domain import recipients as recipient_rules
from app.domain.attachment_rules import expiring_soon
from app.domain.enums import AttachmentStatus, NotificationTemplate, ReferenceType
from app.domain.errors import CorrespondenceError
from app.domain.notification_rules import validate_notification
from app.domain.registry import ALTINN_APP, CORRESPONDENCE_SERVICE, Party, Resource
from app.domain.text_rules import is_markdown, is_plain_text

MAX_ATTACHMENTS = 100
MAX_FORWARDABLE_ATTACHMENT_BYTES = 10_000_000
LANGUAGES = frozenset({"nb", "nn", "en"})
DEFAULT_LANGUAGE = "nb"
RECIPIENT_NAME = "{{recipientName}}"
ORG_URN = recipient_rules.ORGANIZATION_PREFIX + ":"


@dataclass(frozen=True)
class ExistingAttachment:
    """An attachment named in `existingAttachments`, as the rules see it."""

    id: uuid.UUID
    sender: str
    current_status: int | None
    size: int
    expiration_in_days: int | None


@dataclass(frozen=True)
class InitializeFacts:
    """Everything the rules need from storage, loaded before any decision."""

    caller_organization: str | None
    caller_party_urn: str | None
    now: datetime
    resource: Resource | None
    idempotency_key_exists: bool = False
    parties: Mapping[str, Party] = field(default_factory=dict)
    attachments: Mapping[uuid.UUID, ExistingAttachment] = field(default_factory=dict)
    # Per existing attachment: the latest expiration of its live links (None: never expires).
    latest_expirations: Mapping[uuid.UUID, datetime | None] = field(default_factory=dict)
    template_exists: bool = True
    require_known_recipients: bool = False
    # Multipart Initialize: the sizes of the file parts and the file rules of steps 17–18.
    upload_sizes: Sequence[int] | None = None
    check_uploads: Callable[[list[dict[str, Any]]], None] | None = None
    # The recipients normalized (§4.2), when the loader already did it for its lookup.
    normalized_recipients: Sequence[str] | None = None


@dataclass(frozen=True)
class Recipient:
    urn: str  # normalized (§4.2)
    name: str  # display name: the register's, else the identifier
    reserved: bool  # KRR-reserved person sent to without ignoreReservation (gets Reserved)


@dataclass(frozen=True)
class ValidInitialize:
    """One Initialize that passed every rule: what is shared, and who receives it."""

    resource: Resource
    sender: str
    recipients: tuple[Recipient, ...]
    senders_reference: str
    message_sender: str | None
    requested_publish_time: datetime
    due_date_time: datetime | None
    property_list: dict[str, str]
    ignore_reservation: bool | None
    is_confirmation_needed: bool
    is_confidential: bool
    allow_forwarding: bool
    notification: dict[str, Any] | None
    language: str
    message_title: str
    message_summary: str
    message_body: str
    external_references: tuple[tuple[int, str], ...]
    reply_options: tuple[tuple[str, str | None], ...]
    existing_attachments: tuple[ExistingAttachment, ...]
    idempotency_key: uuid.UUID | None
    new_attachment_entries: tuple[dict[str, Any], ...] = ()

    @property
    def uses_recipient_name(self) -> bool:
        return any(
            RECIPIENT_NAME in text for text in (self.message_title, self.message_summary, self.message_body)
        )


def language_of(value: str | None) -> str:
    return value if value and value.strip() else DEFAULT_LANGUAGE


def normalized_recipients(request: Mapping[str, Any]) -> list[str]:
    return [recipient_rules.normalize_recipient(r) for r in request["recipients"]]


@dataclass(frozen=True)
class _BeforeFiles:
    """What steps 1–15 of the ladder found (they read no file of a multipart Initialize)."""

    resource: Resource
    normalized: list[str]
    reserved: set[str]
    publish_time: datetime
    due: datetime | None
    existing: dict[uuid.UUID, ExistingAttachment]


def check_before_files(request: Mapping[str, Any], facts: InitializeFacts) -> None:
    """Steps 1–15 of the ladder, in its order: every rule before the first that needs the files of a
    multipart Initialize (1069, their sizes). Run before a file part is read (SPEC.md §4.1)."""
    _steps_before_files(request, facts)


def decide(request: Mapping[str, Any], facts: InitializeFacts) -> ValidInitialize:
    """The rule ladder of SPEC.md §4.1, in its order; the first broken rule raises."""
    corr = request["correspondence"]
    notification = corr.get("notification")
    early = _steps_before_files(request, facts)
    resource, normalized, reserved = early.resource, early.normalized, early.reserved
    publish_time, due = early.publish_time, early.due
    # 16.–18. Attachments: forwardable size, new files, expiry of the existing ones.
    existing = check_attachments_with_files(request, facts, early.existing)
    # 19. Reply options.
    for option in corr.get("reply_options") or []:
        if not is_https_url(option["link_url"]):
            raise CorrespondenceError(1035)
    # 21. Notification: template row for the language, then the request rules.
    content = corr["content"]
    if notification:
        if not facts.template_exists:
            raise CorrespondenceError(3001)
        validate_notification(notification, recipient_count=len(normalized))

    return ValidInitialize(
        resource=resource,
        sender=ORG_URN + resource.owner_org_number,
        recipients=tuple(
            Recipient(urn, _display_name(urn, facts.parties), urn in reserved) for urn in normalized
        ),
        senders_reference=corr["senders_reference"],
        message_sender=corr.get("message_sender"),
        requested_publish_time=publish_time,
        due_date_time=due,
        property_list=corr.get("property_list") or {},
        ignore_reservation=corr.get("ignore_reservation"),
        is_confirmation_needed=corr["is_confirmation_needed"],
        is_confidential=corr["is_confidential"],
        allow_forwarding=corr["allow_forwarding"],
        notification=notification,
        language=language_of(content.get("language")),
        message_title=content["message_title"],
        message_summary=content.get("message_summary") or "",
        message_body=content["message_body"],
        external_references=tuple(
            (r["reference_type"], r["reference_value"]) for r in corr.get("external_references") or []
        ),
        reply_options=tuple((o["link_url"], o.get("link_text")) for o in corr.get("reply_options") or []),
        existing_attachments=existing,
        idempotency_key=request.get("idempotent_key"),
        new_attachment_entries=tuple(content.get("attachments") or []),
    )


def _steps_before_files(request: Mapping[str, Any], facts: InitializeFacts) -> _BeforeFiles:
    corr = request["correspondence"]
    notification = corr.get("notification")
    given: list[str] = request["recipients"]

    # 1. Notification template must be a defined value (answered as a bare string, SPEC.md §3.2).
    if notification and notification["notification_template"] not in NotificationTemplate._value2member_map_:
        raise CorrespondenceError(3023)
    # 2. Idempotency key.
    key = request.get("idempotent_key")
    if key is not None:
        if len(given) > 1:
            raise CorrespondenceError(1047)
        if facts.idempotency_key_exists:
            raise CorrespondenceError(1034)
    # 3.–6. Resource, sender access, resource type, caller party, confidentiality, forwarding.
    resource = check_resource(facts, corr)
    # 7. Recipients after normalization must be unique.
    normalized = list(facts.normalized_recipients or normalized_recipients(request))
    if len(set(normalized)) != len(normalized):
        raise CorrespondenceError(1006)
    # 8. Register lookup (unknown recipients accepted unless configured otherwise).
    if facts.require_known_recipients:
        missing = [r for r in normalized if r not in facts.parties]
        if missing:
            raise CorrespondenceError(1029, recipients=", ".join(missing))
    # 9. Confirmation needs a due date.
    due = corr.get("due_date_time")
    if corr["is_confirmation_needed"] and due is None:
        raise CorrespondenceError(1016)
    # 10. KRR reservation of person recipients.
    reserved = reserved_recipients(normalized, facts.parties, corr.get("ignore_reservation"))
    # 11. Dates.
    publish_time = corr.get("requested_publish_time") or facts.now
    if due is not None and due < facts.now:
        raise CorrespondenceError(1008)
    if due is not None and due < publish_time:
        raise CorrespondenceError(1009)
    # 12.–14. Content, message sender, external references.
    check_content(corr)
    check_external_references(corr, len(normalized))
    # 15. Existing attachments.
    existing = check_existing_attachments(request, facts, resource)
    return _BeforeFiles(resource, normalized, reserved, publish_time, due, existing)


def _display_name(urn: str, parties: Mapping[str, Party]) -> str:
    party = parties.get(urn)
    return party.name if party else recipient_rules.identifier(urn)


def check_resource(facts: InitializeFacts, corr: Mapping[str, Any]) -> Resource:
    resource = facts.resource
    if resource is None or not resource.owner_org_number:
        raise CorrespondenceError(1036)
    if facts.caller_organization != resource.owner_org_number:
        raise CorrespondenceError(4001)
    has_dialog = any(
        r["reference_type"] == ReferenceType.DialogportenDialogId
        for r in corr.get("external_references") or []
    )
    if resource.resource_type != CORRESPONDENCE_SERVICE and not (
        resource.resource_type == ALTINN_APP and has_dialog
    ):
        raise CorrespondenceError(4010)
    if facts.caller_party_urn is None:
        raise CorrespondenceError(4006)
    if resource.resource_type != ALTINN_APP:
        if resource.confidentiality == "Confidential" and not corr["is_confidential"]:
            raise CorrespondenceError(1060)
        if resource.confidentiality == "NotConfidential" and corr["is_confidential"]:
            raise CorrespondenceError(1061)
    if corr["allow_forwarding"] and resource.minimum_auth_level > 0:
        raise CorrespondenceError(1068)
    return resource


def reserved_recipients(recipients: list[str], parties: Mapping[str, Party], ignore: bool | None) -> set[str]:
    """Persons reserved in KRR; a single reserved recipient is 1030, several are each Reserved."""
    if ignore is True:
        return set()
    reserved = {
        r for r in recipients if recipient_rules.is_person_ssn(r) and r in parties and parties[r].reserved
    }
    if reserved and len(recipients) == 1:
        raise CorrespondenceError(1030, recipient=recipients[0])
    return reserved


def check_content(corr: Mapping[str, Any]) -> None:
    content = corr["content"]
    if not is_plain_text(content["message_title"]):
        raise CorrespondenceError(1002)
    if not is_markdown(content["message_body"]):
        raise CorrespondenceError(1003)
    if language_of(content.get("language")).lower() not in LANGUAGES:
        raise CorrespondenceError(1023)
    sender_name = corr.get("message_sender")
    if sender_name and not is_plain_text(sender_name):
        raise CorrespondenceError(1039)


def check_external_references(corr: Mapping[str, Any], recipient_count: int) -> None:
    refs = corr.get("external_references") or []
    types = [r["reference_type"] for r in refs]
    if types.count(ReferenceType.DialogportenTransmissionType) > 1:
        raise CorrespondenceError(1052)
    dialog_refs = [r for r in refs if r["reference_type"] == ReferenceType.DialogportenDialogId]
    if ReferenceType.DialogportenTransmissionType in types and not dialog_refs:
        raise CorrespondenceError(1053)
    for ref in dialog_refs:
        try:
            if uuid.UUID(ref["reference_value"]).int == 0:
                raise ValueError
        except ValueError:
            raise CorrespondenceError(1048) from None
    if dialog_refs:
        # A transmission into an existing Dialogporten dialog (SPEC.md §4.9). We hold no dialogs,
        # so after the request-shape rules every such dialog is unknown.
        if recipient_count != 1:
            raise CorrespondenceError(1045)
        if corr.get("reply_options") or corr["is_confirmation_needed"]:
            raise CorrespondenceError(1051)
        raise CorrespondenceError(1054)


def existing_attachment_ids(request: Mapping[str, Any]) -> list[uuid.UUID]:
    return list(dict.fromkeys(request.get("existing_attachments") or []))


def check_existing_attachments(
    request: Mapping[str, Any], facts: InitializeFacts, resource: Resource
) -> dict[uuid.UUID, ExistingAttachment]:
    """Step 15: existing attachments (owner 1017, found 1007, count 1038, published 1018)."""
    ids = existing_attachment_ids(request)
    found = {i: facts.attachments[i] for i in ids if i in facts.attachments}
    sender = ORG_URN + resource.owner_org_number
    if any(a.sender != sender for a in found.values()):
        raise CorrespondenceError(1017)
    if len(found) != len(ids):
        raise CorrespondenceError(1007)
    new_attachments = request["correspondence"]["content"].get("attachments") or []
    if len(ids) + len(new_attachments) > MAX_ATTACHMENTS:
        raise CorrespondenceError(1038)
    if any(a.current_status != AttachmentStatus.Published for a in found.values()):
        raise CorrespondenceError(1018)
    return found


def check_attachments_with_files(
    request: Mapping[str, Any], facts: InitializeFacts, found: Mapping[uuid.UUID, ExistingAttachment]
) -> tuple[ExistingAttachment, ...]:
    """Steps 16–18: forwardable size (1069), the new files' rules, expiry of the existing ones (1055)."""
    ids = existing_attachment_ids(request)
    corr = request["correspondence"]
    new_attachments = corr["content"].get("attachments") or []
    total_size = sum(a.size for a in found.values()) + sum(facts.upload_sizes or [])
    if corr["allow_forwarding"] and total_size > MAX_FORWARDABLE_ATTACHMENT_BYTES:
        raise CorrespondenceError(1069)
    if facts.check_uploads is not None:
        facts.check_uploads(new_attachments)  # 17.–18. file names, matching, sizes, expiration
    elif new_attachments:
        # JSON Initialize carries no files: every metadata entry is an unmatched upload target.
        raise CorrespondenceError(1005)
    if any(
        expiring_soon(facts.latest_expirations[i], facts.now) for i in ids if i in facts.latest_expirations
    ):
        raise CorrespondenceError(1055)
    return tuple(found[i] for i in ids)


def is_https_url(url: str | None) -> bool:
    if not url or len(url) > 255 or not url.lower().startswith("https://"):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.netloc) and not any(ch.isspace() for ch in url)


def with_recipient_name(text: str, name: str | None) -> str:
    """The stored content as one recipient reads it."""
    return text.replace(RECIPIENT_NAME, name) if name is not None else text
