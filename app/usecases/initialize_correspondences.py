"""Initialize: one correspondence per recipient, validated in SPEC.md §4.1 order, written in one transaction.

Takes the loaded request (snake_case dict from the schema), the raw JSON and the caller; returns plain
values. Raises CorrespondenceError for every numbered rule.
"""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import psycopg

from app.db.pool import Database
from app.db.repositories import attachments as attachment_repo
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import registry as registry_repo
from app.db.repositories import templates as template_repo
from app.domain import recipients as recipient_rules
from app.domain.attachment_rules import expiring_soon
from app.domain.correspondence import NewContent, NewCorrespondence, StatusEntry
from app.domain.enums import AttachmentStatus, CorrespondenceStatus, NotificationTemplate, ReferenceType
from app.domain.errors import CorrespondenceError
from app.domain.ids import uuid7
from app.domain.notification_rules import validate_notification
from app.domain.registry import ALTINN_APP, CORRESPONDENCE_SERVICE, Party, Resource, strip_resource_prefix
from app.domain.text_rules import is_markdown, is_plain_text
from app.security.identity import ORG_URN, Caller

MAX_ATTACHMENTS = 100
MAX_FORWARDABLE_ATTACHMENT_BYTES = 10_000_000
LANGUAGES = {"nb", "nn", "en"}
RECIPIENT_NAME = "{{recipientName}}"


@dataclass(frozen=True)
class InitializedCorrespondence:
    correspondence_id: uuid.UUID
    status: int
    recipient: str


@dataclass(frozen=True)
class InitializeResult:
    correspondences: list[InitializedCorrespondence]
    attachment_ids: list[uuid.UUID]
    # Correspondences with an outbox row: their notification orders are still to be created.
    awaiting_orders: list[uuid.UUID]


@dataclass(frozen=True)
class InitializeOptions:
    require_known_recipients: bool = False
    request_id: str | None = None


@dataclass(frozen=True)
class NewAttachment:
    """An attachment created and uploaded by a multipart Initialize (step 22)."""
    id: uuid.UUID
    expiration_in_days: int | None
    published: bool


class NewAttachmentUploads(Protocol):
    """The files of a multipart Initialize (SPEC.md §3.3): sizes for 1069 (step 16), the file rules
    of steps 17–18 (2010…2021, 1005, 2004, 2017), and creating + uploading them (step 22)."""

    def sizes(self) -> list[int]: ...

    def validate(self, entries: list[dict[str, Any]]) -> None: ...

    def store(self, entries: list[dict[str, Any]], resource: Resource) -> list[NewAttachment]: ...


def initialize_correspondences(
    db: Database,
    caller: Caller,
    request: dict[str, Any],
    raw_request: dict[str, Any],
    options: InitializeOptions = InitializeOptions(),
    uploads: NewAttachmentUploads | None = None,
) -> InitializeResult:
    """JSON Initialize when `uploads` is None: validation and rows in one transaction. Multipart:
    validation, then the uploads (no transaction held while files stream), then the rows."""
    corr = request["correspondence"]
    notification = corr.get("notification")
    given_recipients: list[str] = request["recipients"]

    # 1. Notification template must be a defined value (answered as a bare string, SPEC.md §3.2).
    if notification and notification["notification_template"] not in NotificationTemplate._value2member_map_:
        raise CorrespondenceError(3023)

    with db.transaction() as conn:
        # 2. Idempotency key.
        key = request.get("idempotent_key")
        if key is not None:
            if len(given_recipients) > 1:
                raise CorrespondenceError(1047)
            if correspondence_repo.idempotency_key_exists(conn, key):
                raise CorrespondenceError(1034)

        # 3.–6. Resource, sender access, resource type, caller party, confidentiality, forwarding.
        resource = _check_resource(conn, caller, corr)

        # 7. Recipients after normalization must be unique.
        normalized = [recipient_rules.normalize_recipient(r) for r in given_recipients]
        if len(set(normalized)) != len(normalized):
            raise CorrespondenceError(1006)

        # 8. Register lookup (unknown recipients accepted unless configured otherwise).
        parties = registry_repo.get_parties(conn, normalized)
        if options.require_known_recipients:
            missing = [r for r in normalized if r not in parties]
            if missing:
                raise CorrespondenceError(1029, recipients=", ".join(missing))

        # 9. Confirmation needs a due date.
        if corr["is_confirmation_needed"] and corr.get("due_date_time") is None:
            raise CorrespondenceError(1016)

        # 10. KRR reservation of person recipients.
        reserved = _reserved_recipients(normalized, parties, corr.get("ignore_reservation"))

        # 11. Dates.
        now = datetime.now(timezone.utc)
        publish_time = corr.get("requested_publish_time") or now
        due = corr.get("due_date_time")
        if due is not None and due < now:
            raise CorrespondenceError(1008)
        if due is not None and due < publish_time:
            raise CorrespondenceError(1009)

        # 12.–14. Content, message sender, external references.
        _check_content(corr)
        _check_external_references(corr, len(normalized))

        # 15.–18. Attachments.
        existing = _check_existing_attachments(conn, request.get("existing_attachments") or [], corr, resource,
                                               uploads, now)

        # 19. Reply options.
        for option in corr.get("reply_options") or []:
            if not _is_https_url(option["link_url"]):
                raise CorrespondenceError(1035)

        # 21. Notification: template row for the language, then the request rules.
        language = _language(corr["content"].get("language"))
        if notification:
            if not template_repo.template_exists(conn, notification["notification_template"], language):
                raise CorrespondenceError(3001)
            validate_notification(notification, recipient_count=len(normalized))

        if uploads is None:
            new: list[NewAttachment] = []
            items = _build(caller, corr, resource, given_recipients, normalized, parties, reserved,
                           existing, new, key, publish_time, now, raw_request)
            _insert(conn, items, caller, options)

    if uploads is not None:
        # 22. Create and upload the new attachments (their rows stay if this fails), 23. then the rows.
        new = uploads.store(corr["content"].get("attachments") or [], resource)
        now = datetime.now(timezone.utc)
        publish_time = corr.get("requested_publish_time") or now
        with db.transaction() as conn:
            current = attachment_repo.get_attachments(conn, list(existing))  # purged meanwhile?
            if any(a.current_status != AttachmentStatus.Published for a in current.values()):
                raise CorrespondenceError(1018)
            items = _build(caller, corr, resource, given_recipients, normalized, parties, reserved,
                           existing, new, key, publish_time, now, raw_request)
            _insert(conn, items, caller, options)

    return InitializeResult(
        correspondences=[InitializedCorrespondence(c.id, c.status, c.recipient) for c in items],
        attachment_ids=list(dict.fromkeys([a.id for a in new] + list(existing))),
        awaiting_orders=[c.id for c in items if c.wants_notification_orders],
    )


def _insert(conn: psycopg.Connection, items: list[NewCorrespondence], caller: Caller,
            options: InitializeOptions) -> None:
    try:  # no savepoint needed: a duplicate key ends the whole transaction anyway
        correspondence_repo.insert_correspondences(conn, items, caller.party_urn, options.request_id)
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.table_name == "idempotency_keys":
            raise CorrespondenceError(1034) from exc
        raise


def _check_resource(conn: psycopg.Connection, caller: Caller, corr: dict[str, Any]) -> Resource:
    resource = registry_repo.get_resource(conn, strip_resource_prefix(corr["resource_id"]))
    if resource is None or not resource.owner_org_number:
        raise CorrespondenceError(1036)
    if caller.organization != resource.owner_org_number:
        raise CorrespondenceError(4001)
    has_dialog = any(r["reference_type"] == ReferenceType.DialogportenDialogId
                     for r in corr.get("external_references") or [])
    if resource.resource_type != CORRESPONDENCE_SERVICE and not (resource.resource_type == ALTINN_APP and has_dialog):
        raise CorrespondenceError(4010)
    if caller.party_urn is None:
        raise CorrespondenceError(4006)
    if resource.resource_type != ALTINN_APP:
        if resource.confidentiality == "Confidential" and not corr["is_confidential"]:
            raise CorrespondenceError(1060)
        if resource.confidentiality == "NotConfidential" and corr["is_confidential"]:
            raise CorrespondenceError(1061)
    if corr["allow_forwarding"] and resource.minimum_auth_level > 0:
        raise CorrespondenceError(1068)
    return resource


def _reserved_recipients(recipients: list[str], parties: dict[str, Party], ignore: bool | None) -> set[str]:
    if ignore is True:
        return set()
    reserved = {r for r in recipients
                if recipient_rules.is_person_ssn(r) and r in parties and parties[r].reserved}
    if reserved and len(recipients) == 1:
        raise CorrespondenceError(1030, recipient=recipients[0])
    return reserved


def _language(value: str | None) -> str:
    return value if value and value.strip() else "nb"


def _check_content(corr: dict[str, Any]) -> None:
    content = corr["content"]
    if not is_plain_text(content["message_title"]):
        raise CorrespondenceError(1002)
    if not is_markdown(content["message_body"]):
        raise CorrespondenceError(1003)
    if _language(content.get("language")).lower() not in LANGUAGES:
        raise CorrespondenceError(1023)
    sender_name = corr.get("message_sender")
    if sender_name and not is_plain_text(sender_name):
        raise CorrespondenceError(1039)


def _check_external_references(corr: dict[str, Any], recipient_count: int) -> None:
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


def _check_existing_attachments(
    conn: psycopg.Connection, ids: list[uuid.UUID], corr: dict[str, Any], resource: Resource,
    uploads: NewAttachmentUploads | None, now: datetime,
) -> dict[uuid.UUID, attachment_repo.ExistingAttachment]:
    unique_ids = list(dict.fromkeys(ids))
    found = attachment_repo.get_attachments(conn, unique_ids) if unique_ids else {}
    sender = ORG_URN + resource.owner_org_number
    if any(a.sender != sender for a in found.values()):
        raise CorrespondenceError(1017)
    if len(found) != len(unique_ids):
        raise CorrespondenceError(1007)
    new_attachments = corr["content"].get("attachments") or []
    if len(unique_ids) + len(new_attachments) > MAX_ATTACHMENTS:
        raise CorrespondenceError(1038)
    if any(a.current_status != AttachmentStatus.Published for a in found.values()):
        raise CorrespondenceError(1018)
    total_size = sum(a.size for a in found.values()) + sum(uploads.sizes() if uploads is not None else [])
    if corr["allow_forwarding"] and total_size > MAX_FORWARDABLE_ATTACHMENT_BYTES:
        raise CorrespondenceError(1069)
    if uploads is not None:
        uploads.validate(new_attachments)  # 17.–18. file names, matching, sizes, expiration
    elif new_attachments:
        # JSON Initialize carries no files: every metadata entry is an unmatched upload target.
        raise CorrespondenceError(1005)
    expirations = attachment_repo.latest_expirations(conn, unique_ids)
    if any(expiring_soon(latest, now) for latest in expirations.values()):
        raise CorrespondenceError(1055)
    return {i: found[i] for i in unique_ids}


def _is_https_url(url: str | None) -> bool:
    from urllib.parse import urlsplit

    if not url or len(url) > 255 or not url.lower().startswith("https://"):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.netloc) and not any(ch.isspace() for ch in url)


def _build(
    caller: Caller,
    corr: dict[str, Any],
    resource: Resource,
    given: list[str],
    normalized: list[str],
    parties: dict[str, Party],
    reserved: set[str],
    existing: dict[uuid.UUID, attachment_repo.ExistingAttachment],
    new: list[NewAttachment],
    key: uuid.UUID | None,
    publish_time: datetime,
    now: datetime,
    raw_request: dict[str, Any],
) -> list[NewCorrespondence]:
    content = corr["content"]
    language = _language(content.get("language"))
    expiry_base = max(publish_time, now)
    links = [(a.id, expiry_base + timedelta(days=a.expiration_in_days) if a.expiration_in_days else None)
             for a in [*new, *existing.values()]]
    # ReadyForPublish only once every attachment is Published (existing ones are, by 1018).
    all_published = all(a.published for a in new)
    notification = corr.get("notification")
    items: list[NewCorrespondence] = []
    for raw_recipient, recipient in zip(given, normalized):
        party = parties.get(recipient)
        name = party.name if party else recipient_rules.identifier(recipient)
        statuses = [StatusEntry(CorrespondenceStatus.Initialized, "Initialized", now)]
        if recipient in reserved:
            statuses.append(StatusEntry(CorrespondenceStatus.Reserved, "Reserved", now))
        elif all_published:
            statuses.append(StatusEntry(CorrespondenceStatus.ReadyForPublish, "ReadyForPublish", now))
        original = copy.copy(raw_request)
        original["recipients"] = [raw_recipient]  # the request as it applies to this row, not 500 copies
        for k in [k for k in original if k.lower() == "recipients" and k != "recipients"]:
            original.pop(k)
        items.append(NewCorrespondence(
            id=uuid7(),
            resource_id=resource.id,
            recipient=recipient,
            recipient_type=recipient_rules.recipient_type(recipient),
            sender=ORG_URN + resource.owner_org_number,
            service_owner_id=resource.owner_org_number,
            senders_reference=corr["senders_reference"],
            message_sender=corr.get("message_sender"),
            requested_publish_time=publish_time,
            due_date_time=corr.get("due_date_time"),
            property_list=corr.get("property_list") or {},
            ignore_reservation=corr.get("ignore_reservation"),
            is_confirmation_needed=corr["is_confirmation_needed"],
            is_confidential=corr["is_confidential"],
            allow_forwarding=corr["allow_forwarding"],
            created=now,
            notification_request=notification,
            original_request=original,
            content=NewContent(
                id=uuid7(),
                language=language,
                message_title=content["message_title"].replace(RECIPIENT_NAME, name),
                message_summary=(content.get("message_summary") or "").replace(RECIPIENT_NAME, name),
                message_body=content["message_body"].replace(RECIPIENT_NAME, name),
            ),
            statuses=statuses,
            external_references=[(r["reference_type"], r["reference_value"])
                                 for r in corr.get("external_references") or []],
            reply_options=[(o["link_url"], o.get("link_text")) for o in corr.get("reply_options") or []],
            attachments=links,
            idempotency_key=key,
            # Reserved correspondences get no notification job (SPEC.md §3.2 side effects).
            wants_notification_orders=notification is not None and recipient not in reserved,
        ))
    return items
