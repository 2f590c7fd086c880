"""Initialize: load what the rules need, decide in pure code (`app.domain.initialize`), write once.

The Initialize is stored once (its shared row) with one thin correspondence per recipient, in one
transaction. Takes the loaded request (snake_case dict from the schema) and the caller; returns
plain values. Raises CorrespondenceError for every numbered rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
from psycopg.rows import DictRow

from app.db.pool import Database
from app.db.registry_cache import RegistryCache
from app.db.repositories import attachments as attachment_repo
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import registry as registry_repo
from app.domain import initialize as rules
from app.domain.enums import AttachmentStatus
from app.domain.errors import CorrespondenceError
from app.domain.initialize import InitializeFacts, ValidInitialize
from app.domain.initialize_rows import NewAttachment, NewInitialization, new_rows
from app.domain.registry import Resource, strip_resource_prefix
from app.security.identity import Caller
from app.usecases.replayable_requests import RequestKey, complete_request

__all__ = [
    "InitializeOptions",
    "InitializeResult",
    "InitializedCorrespondence",
    "NewAttachment",
    "NewAttachmentUploads",
    "initialize_correspondences",
]


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

    def as_record(self) -> dict[str, Any]:
        """Plain JSON, kept for replays of the request (Idempotency-Key)."""
        return {
            "correspondences": [
                [str(c.correspondence_id), c.status, c.recipient] for c in self.correspondences
            ],
            "attachment_ids": [str(i) for i in self.attachment_ids],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> InitializeResult:
        return cls(
            correspondences=[
                InitializedCorrespondence(uuid.UUID(i), s, r) for i, s, r in record["correspondences"]
            ],
            attachment_ids=[uuid.UUID(i) for i in record["attachment_ids"]],
            awaiting_orders=[],
        )


@dataclass(frozen=True)
class InitializeOptions:
    require_known_recipients: bool = False
    request_id: str | None = None
    # An `Idempotency-Key` request: its result is stored with the rows, in the same transaction.
    request_key: RequestKey | None = None
    # Resources and parties read lately by this process (None: read them now).
    registry: RegistryCache | None = None


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
    options: InitializeOptions = InitializeOptions(),
    uploads: NewAttachmentUploads | None = None,
) -> InitializeResult:
    """JSON Initialize when `uploads` is None: validation and rows in one transaction. Multipart:
    validation, then the uploads (no transaction held while files stream), then the rows.

    The common JSON Initialize (no attachments to hold, no Idempotency-Key header to complete) runs in
    autocommit: its reads are what one transaction would see under READ COMMITTED anyway, and its
    write is one statement, so the BEGIN and COMMIT round trips buy nothing."""
    one_statement = (
        uploads is None and options.request_key is None and not rules.existing_attachment_ids(request)
    )
    with db.statements() if one_statement else db.transaction() as conn:
        facts = load_facts(conn, caller, request, options, uploads)
        valid = rules.decide(request, facts)
        if uploads is None:
            rows = new_rows(valid, [], facts.now)
            _insert(conn, rows, caller, options)
            return _completed(conn, _result(rows, []), options)

    # 22. Create and upload the new attachments (their rows stay if this fails), 23. then the rows.
    new = uploads.store(list(valid.new_attachment_entries), valid.resource)
    now = datetime.now(UTC)
    with db.transaction() as conn:
        current = attachment_repo.get_attachments(conn, [a.id for a in valid.existing_attachments])
        if any(a.current_status != AttachmentStatus.Published for a in current.values()):
            raise CorrespondenceError(1018)  # purged meanwhile
        if request["correspondence"].get("requested_publish_time") is None:
            valid = replace(valid, requested_publish_time=now)
        rows = new_rows(valid, new, now)
        _insert(conn, rows, caller, options)
        return _completed(conn, _result(rows, new), options)


def _completed(
    conn: psycopg.Connection[DictRow], result: InitializeResult, options: InitializeOptions
) -> InitializeResult:
    if options.request_key is not None:
        complete_request(conn, options.request_key, result.as_record())
    return result


def load_facts(
    conn: psycopg.Connection[DictRow],
    caller: Caller,
    request: dict[str, Any],
    options: InitializeOptions,
    uploads: NewAttachmentUploads | None,
) -> InitializeFacts:
    """Everything the rule ladder reads from storage, in as few statements as it takes."""
    corr = request["correspondence"]
    key = request.get("idempotent_key")
    attachment_ids = rules.existing_attachment_ids(request)
    notification = corr.get("notification")
    normalized = rules.normalized_recipients(request)
    found = registry_repo.initialize_lookups(
        conn,
        resource_id=strip_resource_prefix(corr["resource_id"]),
        urns=normalized,
        key=key if len(request["recipients"]) == 1 else None,
        template=notification["notification_template"] if notification else None,
        language=rules.language_of(corr["content"].get("language")),
        cache=options.registry,
    )
    return InitializeFacts(
        caller_organization=caller.organization,
        caller_party_urn=caller.party_urn,
        now=datetime.now(UTC),
        resource=found["resource"],
        idempotency_key_exists=found["key_exists"],
        parties=found["parties"],
        attachments=attachment_repo.get_attachments(conn, attachment_ids) if attachment_ids else {},
        latest_expirations=attachment_repo.latest_expirations(conn, attachment_ids),
        template_exists=found["template_exists"],
        require_known_recipients=options.require_known_recipients,
        upload_sizes=uploads.sizes() if uploads is not None else None,
        check_uploads=uploads.validate if uploads is not None else None,
        normalized_recipients=normalized,
    )


def _insert(
    conn: psycopg.Connection[DictRow], rows: NewInitialization, caller: Caller, options: InitializeOptions
) -> None:
    try:  # no savepoint needed: a duplicate key ends the whole transaction anyway
        correspondence_repo.insert_initialization(conn, rows, caller.party_urn, options.request_id)
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.table_name == "idempotency_keys":
            raise CorrespondenceError(1034) from exc
        raise


def _result(rows: NewInitialization, new: list[NewAttachment]) -> InitializeResult:
    valid: ValidInitialize = rows.valid
    return InitializeResult(
        correspondences=[
            InitializedCorrespondence(c.id, c.status, c.recipient) for c in rows.correspondences
        ],
        attachment_ids=list(dict.fromkeys([a.id for a in new] + [a.id for a in valid.existing_attachments])),
        awaiting_orders=rows.awaiting_orders,
    )
