"""Attachments (SPEC.md §3.3, §3.9, §3.11): shared attachments, multipart Initialize, recipient download.

Thin: parse → use case → serialize. File bytes are streamed both ways, never read whole.
"""

from __future__ import annotations

import os
import sys
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, g, jsonify, request
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.http import dump_options_header
from werkzeug.wsgi import wrap_file

from app.api.auth import require_any_scope
from app.api.blueprint import Blueprint
from app.api.correspondences import answer_initialized, answer_replayed
from app.api.idempotency_key import PARAMETER as IDEMPOTENCY_KEY
from app.api.idempotency_key import claimed_key
from app.api.json_body import load, read_json
from app.api.multipart import read_form
from app.api.problems import PROBLEM, documented, problem, request_id
from app.api.rate_limit import rate_limited
from app.domain.attachment_rules import (
    MULTIPART_MAX_FILE_BYTES,
    disposition_type,
    download_content_type,
)
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
from app.usecases.initialize_with_upload import IncomingFile, initialize_with_upload
from app.usecases.purge_attachment import purge_attachment
from app.usecases.replayable_requests import fingerprint_of_form, release
from app.usecases.upload_attachment import UploadInterrupted, upload_attachment

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


@blp.route("/correspondence/<uuid:correspondence_id>/attachments/downloadall", methods=["GET"])
@blp.doc(
    summary="All attachments as one zip (feature flag EnableDownloadAll; off here)",
    security=[{"bearerAuth": []}],
)
@blp.alt_response(404, **PROBLEM)
@documented(401, 403)
@_bytes_endpoint(READ_SCOPE, PORTAL_SCOPE)
def download_all(correspondence_id: uuid.UUID):
    return problem(404, "Download all attachments is not available in this environment.")


@blp.route("/correspondence/upload", methods=["POST"])
@blp.doc(
    summary="Initialize one correspondence per recipient, with new attachments as file parts",
    description="Form fields are the Initialize model as dotted, case-insensitive paths "
    "(`correspondence.content.messageTitle`, `recipients[0]`, `correspondence.propertyList.key`); "
    "file parts are named `attachments` and matched to "
    "`correspondence.content.attachments[i].fileName` by their filename.",
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
    form, file_parts = read_form(MULTIPART_MAX_REQUEST_BYTES)  # 413 past the part count or text sizes
    services = _services()
    key, stored = claimed_key(
        services.db,
        services.settings.idempotency_retention,
        lambda: fingerprint_of_form(
            form.items(multi=True), ((n, p.filename or "", p.stream) for n, p in file_parts.items(multi=True))
        ),
    )
    if stored is not None:
        return answer_replayed(stored)
    try:
        raw = bind_form(form.items(multi=True), _FORM_SHAPE)
        data = load(_initialize_schema, raw, nul_reported_in=FILE_NAME_KEYS)
        files = [
            _incoming(part) for name, part in file_parts.items(multi=True) if name.lower() == "attachments"
        ]
        result = initialize_with_upload(
            services.db,
            _storage(),
            g.caller,
            data,
            files,
            InitializeOptions(
                require_known_recipients=services.settings.require_known_recipients,
                request_id=request_id(),
                request_key=key,
                registry=services.registry_cache,
            ),
            production=services.settings.is_production,
        )
    except BaseException:
        if key is not None:
            release(services.db, key)  # nothing was stored: the key may be used again
        raise
    return answer_initialized(services.db, result)


def _incoming(part: FileStorage) -> IncomingFile:
    stream = part.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return IncomingFile(part.filename or "", size, stream)


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
