"""POST /attachment: create a shared attachment (status Initialized) to upload and link later (SPEC.md §3.11)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from app.db.pool import Database
from app.db.repositories import registry as registry_repo
from app.db.repositories import shared_attachments as repo
from app.domain.attachment_rules import check_expiration, check_file_name
from app.domain.enums import AttachmentDataLocationType, InitializeAttachmentDataLocationType
from app.domain.errors import CorrespondenceError
from app.domain.ids import uuid7
from app.domain.registry import CORRESPONDENCE_SERVICE, Resource, strip_resource_prefix
from app.security.identity import ORG_URN, Caller

GENERIC_ACCESS_RESOURCE = "GenericAccessResource"
ATTACHMENT_RESOURCE_TYPES = frozenset({CORRESPONDENCE_SERVICE, GENERIC_ACCESS_RESOURCE})


def initialize_attachment(
    db: Database, caller: Caller, request: dict[str, Any], *, production: bool
) -> uuid.UUID:
    """Checks in the contract's order: 1036, 4001, 4009, 4006, file name (2010…2021), 2017."""
    with db.transaction() as conn:
        resource = registry_repo.get_resource(conn, strip_resource_prefix(request["resource_id"]))
        if resource is None or not resource.owner_org_number:
            raise CorrespondenceError(1036)
        if caller.organization != resource.owner_org_number:
            raise CorrespondenceError(4001)
        if resource.resource_type not in ATTACHMENT_RESOURCE_TYPES:
            raise CorrespondenceError(4009)
        if caller.party_urn is None:
            raise CorrespondenceError(4006)
        check_file_name(request.get("file_name"))
        check_expiration(request.get("expiration_in_days"), production)
        row = new_attachment_row(request, resource, datetime.now(UTC))
        repo.insert_attachments(conn, [row], caller.party_urn)
    return row.id


def new_attachment_row(
    entry: dict[str, Any], resource: Resource, now: datetime, attachment_id: uuid.UUID | None = None
) -> repo.NewAttachmentRow:
    """An attachment of `resource`'s service owner from one attachment entry (snake_case, as loaded);
    a new id unless it has one already (a multipart Initialize stores the file under it first)."""
    external = entry.get("data_location_type") == InitializeAttachmentDataLocationType.ExistingExternalStorage
    return repo.NewAttachmentRow(
        id=attachment_id or uuid7(),
        resource_id=resource.id,
        file_name=entry["file_name"],
        display_name=entry.get("display_name"),
        is_encrypted=bool(entry.get("is_encrypted")),
        checksum=(entry.get("checksum") or "").strip() or None,
        senders_reference=entry["senders_reference"],
        sender=ORG_URN + resource.owner_org_number,
        service_owner_id=resource.owner_org_number,
        data_location_type=int(
            AttachmentDataLocationType.ExternalStorage
            if external
            else AttachmentDataLocationType.AltinnCorrespondenceAttachment
        ),
        expiration_in_days=entry.get("expiration_in_days"),
        created=now,
    )
