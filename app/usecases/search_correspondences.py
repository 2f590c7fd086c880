"""GET /correspondence: ids of the caller's correspondences for one resource (SPEC.md §3.6)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.db.pool import Database
from app.db.repositories import registry as registry_repo
from app.db.repositories import search as search_repo
from app.domain.access import MissingScope
from app.domain.errors import CorrespondenceError, ValidationProblem
from app.domain.recipients import on_behalf_of_error, parse_party_reference
from app.domain.registry import strip_resource_prefix
from app.security.identity import ORG_URN, PERSON_URN, READ_SCOPE, WRITE_SCOPE, Caller
from app.usecases.authorization import may_act_for

RECIPIENT_ROLE, SENDER_ROLE, BOTH_ROLES = 0, 1, 2
MAX_RESULTS = 1000


@dataclass(frozen=True)
class SearchQuery:
    resource_id: str
    role: int
    date_from: datetime | None = None
    date_to: datetime | None = None
    status: int | None = None
    on_behalf_of: str | None = None
    senders_reference: str | None = None
    idempotent_key: uuid.UUID | None = None
    altinn2_correspondence_id: int | None = None  # migrated Altinn 2 data only: nothing made here has one
    offset: int = 0
    limit: int = MAX_RESULTS


def search_correspondences(db: Database, caller: Caller, query: SearchQuery) -> list[uuid.UUID]:
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise CorrespondenceError(1027)
    if query.offset < 0 or query.limit < 0:
        raise CorrespondenceError(1028)
    on_behalf_of = query.on_behalf_of if query.on_behalf_of and query.on_behalf_of.strip() else None  # blank
    party = parse_party_reference(on_behalf_of) if on_behalf_of else caller.party_urn
    if party is None:
        if on_behalf_of:
            message = on_behalf_of_error(on_behalf_of) or "Invalid OnBehalfOf"
            raise ValidationProblem.single("OnBehalfOf", message)
        raise CorrespondenceError(4006)
    resource_id = strip_resource_prefix(query.resource_id)
    with db.transaction() as conn:
        resource = registry_repo.get_resource(conn, resource_id)
        wants_sender = query.role in (SENDER_ROLE, BOTH_ROLES)
        wants_recipient = query.role in (RECIPIENT_ROLE, BOTH_ROLES)
        sender_access = (
            resource is not None
            and caller.organization == resource.owner_org_number
            and party == ORG_URN + caller.organization
        )
        # The caller itself, or a person with an access entry for the organization (the seam).
        recipient_access = may_act_for(conn, caller, party, resource_id)
        # A person on their own behalf may search in any role: as a sender they simply find nothing.
        own_person = caller.pid is not None and party == PERSON_URN + caller.pid
        if not own_person and (
            (wants_sender and not sender_access and not wants_recipient)
            or (wants_recipient and not recipient_access and not wants_sender)
            or not (sender_access or recipient_access)
        ):
            raise CorrespondenceError(4001)
        # Scopes choose the role: the write scope searches as sender, the read scope as recipient.
        may_send, may_receive = caller.has_scope(WRITE_SCOPE), caller.has_scope(READ_SCOPE)
        if not own_person and wants_sender and not wants_recipient and not may_send:
            raise MissingScope(WRITE_SCOPE)
        if not own_person and wants_recipient and not wants_sender and not may_receive:
            raise MissingScope(READ_SCOPE)
        as_recipient = wants_recipient and recipient_access and may_receive
        as_sender = wants_sender and sender_access and may_send
        if not (as_recipient or as_sender):
            return []
        if query.idempotent_key is not None:
            return search_repo.by_idempotency_key(
                conn,
                query.idempotent_key,
                resource_id=resource_id,
                party=party,
                as_recipient=as_recipient,
                as_sender=as_sender,
            )
        return search_repo.search(
            conn,
            resource_id=resource_id,
            party=party,
            as_recipient=as_recipient,
            as_sender=as_sender,
            date_from=query.date_from,
            date_to=query.date_to,
            status=query.status,
            senders_reference=query.senders_reference,
            altinn2_correspondence_id=query.altinn2_correspondence_id,
            offset=query.offset,
            limit=min(query.limit, MAX_RESULTS),
        )
