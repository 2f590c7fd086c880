"""Attachments (SPEC.md §3.3, §3.9, §3.11): shared attachments, multipart Initialize, recipient download.

Thin: parse → use case → serialize. File bytes are streamed both ways, never read whole.
"""

from __future__ import annotations

import sys
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, g, jsonify, request
from werkzeug.exceptions import Conflict, UnprocessableEntity, UnsupportedMediaType
from werkzeug.http import dump_options_header
from werkzeug.wsgi import wrap_file

from app.api.auth import require_any_scope
from app.api.blueprint import Blueprint
from app.api.correspondences import answer_initialized, answer_replayed
from app.api.idempotency_key import PARAMETER as IDEMPOTENCY_KEY
from app.api.idempotency_key import claimed_form_key, header_key
from app.api.json_body import load, read_json
from app.api.multipart import BodyTooLarge, FilePart, FormReader, MalformedForm
from app.api.problems import PROBLEM, documented, problem, request_id
from app.api.rate_limit import rate_limited
from app.domain.attachment_rules import (
    MULTIPART_MAX_FILE_BYTES,
    disposition_type,
    download_content_type,
)
from app.domain.idempotency import KeyLost
from app.schemas.attachments import (
    AttachmentDetailsSchema,
    AttachmentOverviewSchema,
    InitializeSharedAttachmentSchema,
)
from app.schemas.form_binding import bind_form, shape_of_schema
from app.schemas.initialize import InitializeCorrespondencesRequestSchema
from app.schemas.responses import InitializeCorrespondencesResponseSchema
from app.schemas.upload_form import InitializeFormSchema
from app.security.identity import READ_SCOPE, WRITE_SCOPE
from app.storage import CHUNK_SIZE, AttachmentStorage, storage_from_settings
from app.usecases.download_attachment import DownloadedFile, download_attachment
from app.usecases.download_correspondence_attachment import download_correspondence_attachment
from app.usecases.get_attachment import get_attachment_details, get_attachment_overview
from app.usecases.initialize_attachment import initialize_attachment
from app.usecases.initialize_correspondences import InitializeOptions
from app.usecases.initialize_with_upload import MultipartInitialize
from app.usecases.purge_attachment import purge_attachment
from app.usecases.replayable_requests import FormFingerprint, KeyLease, release
from app.usecases.upload_attachment import SourceRefused, UploadInterrupted, upload_attachment

blp = Blueprint(
    "attachment",
    __name__,
    url_prefix="/correspondence/api/v1",
    description="Attachments: shared attachments, Initialize with files, downloads",
)

PORTAL_SCOPE = "altinn:portal/enduser"
# 100 files of at most 2 GB, plus the form fields.
MULTIPART_MAX_REQUEST_BYTES = 100 * MULTIPART_MAX_FILE_BYTES + 16 * 1024 * 1024
BYTES = {"schema": {"type": "string", "format": "binary"}}
_attachment_schema = InitializeSharedAttachmentSchema()
_initialize_schema = InitializeCorrespondencesRequestSchema()
_FORM_SHAPE = shape_of_schema(_initialize_schema)
# A NUL in a file name is error 2012 (the file name rules run before anything is stored), not a
# validation problem. The JSON Initialize keeps the validation problem: its attachments are 1005.
FILE_NAME_KEYS = frozenset({"filename"})


def _services() -> Any:
    return current_app.extensions["correspondence"]


def _storage() -> AttachmentStorage:
    extensions = current_app.extensions
    if "attachment_storage" not in extensions:
        extensions["attachment_storage"] = storage_from_settings(_services().settings)
    return extensions["attachment_storage"]


def _bytes_endpoint(*scopes: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Authenticate (401/4001) and require a scope (403); no Accept check: the answer is bytes."""
    return require_any_scope(*scopes, check_accept=False)


@blp.errorhandler(UploadInterrupted)
def _interrupted(exc: UploadInterrupted) -> Response:
    return problem(400, "Upload interrupted: the request body ended before all of it arrived.")


@blp.route("/attachment", methods=["POST"])
@blp.doc(
    summary="Initialize a shared attachment (upload it next)",
    security=[{"bearerAuth": []}],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": InitializeSharedAttachmentSchema}},
    },
    responses={
        200: {
            "description": "The attachment id, as a JSON string",
            "content": {"application/json": {"schema": {"type": "string", "format": "uuid"}}},
        }
    },
)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(401, **PROBLEM)
@documented(403, 413, 415, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE)
@rate_limited  # every write operation: one bucket per caller
def initialize():
    data = load(_attachment_schema, read_json(), nul_reported_in=FILE_NAME_KEYS)
    attachment_id = initialize_attachment(
        _services().db, g.caller, data, production=_services().settings.is_production
    )
    return jsonify(str(attachment_id))


@blp.route("/attachment/<uuid:attachment_id>/upload", methods=["POST"])
@blp.doc(
    summary="Upload the bytes of a shared attachment (once)",
    security=[{"bearerAuth": []}],
    requestBody={"required": True, "content": {"application/octet-stream": BYTES}},
)
@blp.response(200, AttachmentOverviewSchema)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(401, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@blp.alt_response(408, **PROBLEM)
@blp.alt_response(415, **PROBLEM)
@blp.alt_response(502, **PROBLEM)
@documented(403, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE)
@rate_limited  # every write operation: one bucket per caller
def upload(attachment_id: uuid.UUID):
    # As Altinn's binding: a missing or empty Content-Type is let through; only another type is 415.
    if request.mimetype not in ("", "application/octet-stream"):
        raise UnsupportedMediaType("The request body must be application/octet-stream.")
    request.max_content_length = sys.maxsize  # no 413: the use case answers 2004 above 50 GB
    return upload_attachment(
        _services().db, _storage(), g.caller, attachment_id, request.stream, request.content_length
    )


@blp.route("/attachment/<uuid:attachment_id>", methods=["GET"])
@blp.doc(summary="Overview of a shared attachment", security=[{"bearerAuth": []}])
@blp.response(200, AttachmentOverviewSchema)
@blp.alt_response(401, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@documented(403, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE)
def overview(attachment_id: uuid.UUID):
    return get_attachment_overview(_services().db, g.caller, attachment_id)


@blp.route("/attachment/<uuid:attachment_id>/details", methods=["GET"])
@blp.doc(summary="Details of a shared attachment, with status history", security=[{"bearerAuth": []}])
@blp.response(200, AttachmentDetailsSchema)
@blp.alt_response(401, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@documented(403, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE)
def details(attachment_id: uuid.UUID):
    return get_attachment_details(_services().db, g.caller, attachment_id)


@blp.route("/attachment/<uuid:attachment_id>", methods=["DELETE"])
@blp.doc(
    summary="Purge a shared attachment that no correspondence uses",
    security=[{"bearerAuth": []}],
    responses={204: {"description": "Purged"}},
)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(401, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@documented(403, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE)
@rate_limited  # every write operation: one bucket per caller
def purge(attachment_id: uuid.UUID):
    purge_attachment(_services().db, _storage(), g.caller, attachment_id)
    return Response(status=204)


@blp.route("/attachment/<uuid:attachment_id>/download", methods=["GET"])
@blp.doc(
    summary="The sender downloads a shared attachment (until a correspondence using it is published)",
    security=[{"bearerAuth": []}],
    responses={200: {"description": "The file", "content": {"application/octet-stream": BYTES}}},
)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(401, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@documented(403, 503)
@_bytes_endpoint(WRITE_SCOPE)
def download(attachment_id: uuid.UUID):
    downloaded = download_attachment(_services().db, _storage(), g.caller, attachment_id)
    return _file_response(downloaded, "application/octet-stream", "attachment")


@blp.route(
    "/correspondence/<uuid:correspondence_id>/attachment/<uuid:attachment_id>/download", methods=["GET"]
)
@blp.doc(
    summary="The recipient downloads an attachment of a published correspondence",
    security=[{"bearerAuth": []}],
    responses={200: {"description": "The file; Content-Type from its extension", "content": {"*/*": BYTES}}},
)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(401, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@documented(403, 503)
@_bytes_endpoint(READ_SCOPE, PORTAL_SCOPE)
def recipient_download(correspondence_id: uuid.UUID, attachment_id: uuid.UUID):
    downloaded = download_correspondence_attachment(
        _services().db,
        _storage(),
        g.caller,
        correspondence_id,
        attachment_id,
        record=request.method != "HEAD",
    )
    name = downloaded.file_name
    return _file_response(downloaded, download_content_type(name), disposition_type(name))


@blp.route("/correspondence/upload", methods=["POST"])
@blp.doc(
    summary="Initialize one correspondence per recipient, with new attachments as file parts",
    description="Form fields are the Initialize model as dotted, case-insensitive paths "
    "(`correspondence.content.messageTitle`, `recipients[0]`, `correspondence.propertyList.key`); "
    "file parts are named `attachments` and matched to "
    "`correspondence.content.attachments[i].fileName` by their filename. Every text field comes "
    "before the first file part (a field after a file is 400): the token, the resource and the size the "
    "text declares (2 GB per attachment entry; 413 past it) are checked before any file byte is read.",
    security=[{"bearerAuth": []}],
    parameters=[IDEMPOTENCY_KEY],
    requestBody={"required": True, "content": {"multipart/form-data": {"schema": InitializeFormSchema}}},
)
@blp.response(200, InitializeCorrespondencesResponseSchema)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(401, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@blp.alt_response(408, **PROBLEM)
@blp.alt_response(409, **PROBLEM)
@blp.alt_response(413, **PROBLEM)
@blp.alt_response(415, **PROBLEM)
@blp.alt_response(422, **PROBLEM)
@blp.alt_response(502, **PROBLEM)
@documented(403, 503, not_acceptable=True, invalid_template=True)
@require_any_scope(WRITE_SCOPE)
@rate_limited  # the same per-sender bucket as JSON Initialize
def initialize_with_files():
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("The request body must be multipart/form-data.")
    boundary = request.mimetype_params.get("boundary")
    if not boundary:
        raise MalformedForm("A multipart/form-data body needs the boundary parameter of its Content-Type.")
    request.max_content_length = MULTIPART_MAX_REQUEST_BYTES  # 413 at once above it
    form = FormReader(request.stream, boundary.encode("latin-1"))
    fields = form.fields()  # text only; 413 past the part count or the text sizes
    if not fields and form.has_files:
        raise MalformedForm("The form's text fields must come before its file parts.")
    data = load(_initialize_schema, bind_form(fields, _FORM_SHAPE), nul_reported_in=FILE_NAME_KEYS)
    services = _services()
    options = InitializeOptions(
        require_known_recipients=services.settings.require_known_recipients,
        request_id=request_id(),
        registry=services.registry_cache,
    )
    upload = MultipartInitialize(
        services.db, _storage(), g.caller, data, options, production=services.settings.is_production
    )
    upload.authorize()  # the resource and the caller's right to send for it: before any file byte
    _cap_body(form, len(upload.entries))
    fingerprint = FormFingerprint(fields) if header_key() is not None else None
    key = None
    if fingerprint is not None:
        key, stored = claimed_form_key(
            services.db, services.settings.idempotency_retention, fingerprint.of_fields
        )
        if stored is not None:
            for part in _tapped(form.files(), fingerprint, None):  # read, never stored
                for _ in part.chunks:
                    pass
            if fingerprint.digest() != stored.fingerprint:
                raise UnprocessableEntity("This Idempotency-Key was used for a request with another body.")
            return answer_replayed(stored.result)
    try:
        upload.check_before_files()
        lease = KeyLease(services.db, key) if key is not None else None  # renewed while files arrive
        parts = form.files() if fingerprint is None else _tapped(form.files(), fingerprint, lease)
        files = upload.receive_files(parts)
        if key is not None and fingerprint is not None:
            upload.options = replace(options, request_key=replace(key, fingerprint=fingerprint.digest()))
        if lease is not None:
            lease.keep()
        result = upload.initialize(files)
    except BaseException:
        if key is not None:
            release(services.db, key)  # nothing was stored: the key may be used again
        raise
    return answer_initialized(services.db, result)


# Per file part, besides its bytes: its headers and boundary (at most werkzeug's one-part limit).
PART_FRAMING_BYTES = 128 * 1024


def _cap_body(form: FormReader, entries: int) -> None:
    """At most what the text declares: one file of 2 GB per attachment entry, with its framing (413)."""
    limit = form.text_bytes + entries * (MULTIPART_MAX_FILE_BYTES + PART_FRAMING_BYTES) + PART_FRAMING_BYTES
    detail = (
        f"The request is larger than its form allows: {entries} attachment "
        f"{'entry' if entries == 1 else 'entries'} of at most {MULTIPART_MAX_FILE_BYTES} bytes each."
    )
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(detail)
    form.cap(limit, detail)


class KeyTakenOver(Conflict, SourceRefused):
    description = (
        "A retry with this Idempotency-Key took it over while this request was stalled (its lease of "
        "10 minutes passed with no byte arriving): this request stores nothing; the retry's answer counts."
    )


def _tapped(
    parts: Iterator[FilePart], fingerprint: FormFingerprint, lease: KeyLease | None
) -> Iterator[FilePart]:
    """The file parts, hashed into the request's fingerprint as they pass; the key's lease kept."""
    for part in parts:
        fingerprint.part(part.name, part.filename)
        yield FilePart(part.name, part.filename, part.headers, _hashed(part.chunks, fingerprint, lease))


def _hashed(chunks: Iterator[bytes], fingerprint: FormFingerprint, lease: KeyLease | None) -> Iterator[bytes]:
    for chunk in chunks:
        fingerprint.update(chunk)
        if lease is not None:
            try:
                lease.keep()
            except KeyLost:
                raise KeyTakenOver() from None
        yield chunk


def _file_response(downloaded: DownloadedFile, content_type: str, disposition: str) -> Response:
    body = wrap_file(request.environ, downloaded.file, CHUNK_SIZE)
    response = Response(body, status=200, content_type=content_type, direct_passthrough=True)
    response.content_length = downloaded.size
    response.headers["Content-Disposition"] = _content_disposition(disposition, downloaded.file_name)
    return response


def _content_disposition(disposition: str, file_name: str) -> str:
    """`attachment; filename=a.txt`, with an ASCII fallback plus `filename*` for other names."""
    try:
        file_name.encode("ascii")
        return dump_options_header(disposition, {"filename": file_name})
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode("ascii")
        return dump_options_header(
            disposition,
            {"filename": simple or "file", "filename*": "UTF-8''" + quote(file_name, safe="!#$&+^`|")},
        )
