"""GET /correspondence/{id}/attachments/downloadall: the recipient gets every attachment as one zip.

Thin: the use case checks and opens; this view streams the zip with its exact `Content-Length`.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, current_app, g, request
from werkzeug.http import dump_options_header

from app.api.auth import require_any_scope
from app.api.blueprint import Blueprint
from app.api.problems import PROBLEM, documented
from app.security.identity import READ_SCOPE
from app.storage import AttachmentStorage, storage_from_settings
from app.usecases.download_all_attachments import download_all_attachments

blp = Blueprint(
    "download_all",
    __name__,
    url_prefix="/correspondence/api/v1",
    description="Attachments: every attachment of a correspondence as one zip",
)

PORTAL_SCOPE = "altinn:portal/enduser"
ZIP = {"schema": {"type": "string", "format": "binary"}}


def _storage() -> AttachmentStorage:
    extensions = current_app.extensions
    if "attachment_storage" not in extensions:
        extensions["attachment_storage"] = storage_from_settings(extensions["correspondence"].settings)
    return extensions["attachment_storage"]


@blp.route("/correspondence/<uuid:correspondence_id>/attachments/downloadall", methods=["GET"])
@blp.doc(
    summary="The recipient downloads every attachment of a published correspondence as one zip",
    description=(
        "Entries are stored (not compressed), named from the attachments' file names (made unique, "
        "at most 255 bytes). `Content-Length` is sent. At most 2 GB of attachments (else 400/2023)."
    ),
    security=[{"bearerAuth": []}],
    responses={200: {"description": "The zip", "content": {"application/zip": ZIP}}},
)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(401, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@documented(403, 503)
@require_any_scope(READ_SCOPE, PORTAL_SCOPE, check_accept=False)
def download_all(correspondence_id: uuid.UUID) -> Any:
    services = current_app.extensions["correspondence"]
    download = download_all_attachments(
        services.db, _storage(), g.caller, correspondence_id, record=request.method != "HEAD"
    )
    response = Response(download, status=200, content_type="application/zip", direct_passthrough=True)
    response.content_length = download.size
    response.headers["Content-Disposition"] = dump_options_header(
        "attachment", {"filename": download.file_name}
    )
    return response
