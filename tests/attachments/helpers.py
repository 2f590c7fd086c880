"""Helpers for the attachment tests: shared attachments, uploads, multipart Initialize, storage checks."""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path
from typing import Any

from werkzeug.datastructures import MultiDict

from tests.api.helpers import ok
from tests.factories import ORG_RECIPIENT

BASE = "/correspondence/api/v1"
ATTACHMENT_URL = f"{BASE}/attachment"
UPLOAD_URL = f"{BASE}/correspondence/upload"


def attachment_body(**fields: Any) -> dict[str, Any]:
    body = {"resourceId": "test-service", "fileName": "vedlegg.txt", "sendersReference": "vedlegg-1"}
    body.update(fields)
    return body


def initialize_attachment(client, headers, **fields: Any):
    return client.post(ATTACHMENT_URL, json=attachment_body(**fields), headers=headers)


def new_attachment(client, headers, **fields: Any) -> str:
    return ok(initialize_attachment(client, headers, **fields))


def upload(client, headers, attachment_id: str, data: bytes, content_type: str = "application/octet-stream"):
    return client.post(
        f"{ATTACHMENT_URL}/{attachment_id}/upload", data=data, headers=headers, content_type=content_type
    )


def uploaded_attachment(client, headers, data: bytes = b"hei", **fields: Any) -> str:
    attachment_id = new_attachment(client, headers, **fields)
    ok(upload(client, headers, attachment_id, data))
    return attachment_id


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def attachment_statuses(db, attachment_id: str) -> list[tuple[int, str]]:
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT status, status_text FROM attachment_statuses WHERE attachment_id = %s "
            "ORDER BY status_changed, id",
            (uuid.UUID(attachment_id),),
        ).fetchall()
    return [(r["status"], r["status_text"]) for r in rows]


def add_attachment_status(db, attachment_id: str, status: int, text: str) -> None:
    with db.transaction() as conn:
        conn.execute(
            """INSERT INTO attachment_statuses (id, attachment_id, status, status_text, status_changed)
                        VALUES (gen_random_uuid(), %s, %s, %s, now() + interval '1 second')""",
            (uuid.UUID(attachment_id), status, text),
        )


def storage_dir(app) -> Path:
    return app.extensions["correspondence"].settings.attachments_dir


def leftovers(app) -> list[str]:
    """Temporary files in the storage folder (none may outlive a request)."""
    folder = storage_dir(app)
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.exists() else []


def stored(app, attachment_id: str) -> bool:
    return (storage_dir(app) / attachment_id).exists()


def form_fields(
    recipients: list[str] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    **correspondence: str,
) -> list[tuple[str, str]]:
    """Form fields of a valid multipart Initialize (dotted names, as the original binds them)."""
    fields = [
        ("correspondence.resourceId", "test-service"),
        ("correspondence.sendersReference", "ref-1"),
        ("correspondence.content.language", "nb"),
        ("correspondence.content.messageTitle", "Testmelding"),
        ("correspondence.content.messageBody", "Hei **verden**"),
    ]
    fields += [(f"correspondence.{k}", v) for k, v in correspondence.items()]
    for i, entry in enumerate(attachments or []):
        fields += [(f"correspondence.content.attachments[{i}].{k}", str(v)) for k, v in entry.items()]
    fields += [(f"recipients[{i}]", r) for i, r in enumerate(recipients or [ORG_RECIPIENT])]
    return fields


def post_multipart(
    client,
    headers,
    fields: list[tuple[str, str]],
    files: list[tuple[str, bytes]],
    part_name: str = "attachments",
):
    data = MultiDict(fields)
    for file_name, content in files:
        data.add(part_name, (io.BytesIO(content), file_name))
    return client.post(UPLOAD_URL, data=data, headers=headers, content_type="multipart/form-data")


def entry(file_name: str, **fields: Any) -> dict[str, Any]:
    return {"fileName": file_name, "sendersReference": f"ref-{file_name}", **fields}
