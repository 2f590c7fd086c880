"""What Altinn's own clients send to the attachment endpoints (issue 10): an upload without a media
type, and a 204 that carries no Content-Type."""
from __future__ import annotations

import pytest

from app.domain.enums import AttachmentStatus as A
from tests.attachments.helpers import (
    ATTACHMENT_URL,
    attachment_statuses,
    md5,
    new_attachment,
    stored,
    uploaded_attachment,
)


def _upload_url(attachment_id: str) -> str:
    return f"{ATTACHMENT_URL}/{attachment_id}/upload"


def test_upload_without_a_content_type_header_stores_the_bytes(client, sender, db, app):
    attachment_id = new_attachment(client, sender)
    resp = client.post(_upload_url(attachment_id), data=b"hello", headers=sender)  # no Content-Type at all
    assert resp.request.headers.get("Content-Type") is None
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["attachmentId"] == attachment_id and body["status"] == "Published"
    assert body["checksum"] == md5(b"hello")
    assert attachment_statuses(db, attachment_id)[-1] == (A.Published, "Published")
    assert stored(app, attachment_id)


def test_upload_with_an_empty_content_type_stores_the_bytes(client, sender, app):
    attachment_id = new_attachment(client, sender)
    resp = client.post(_upload_url(attachment_id), data=b"hello", headers={**sender, "Content-Type": ""})
    assert resp.request.headers.get("Content-Type") == ""
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "Published" and stored(app, attachment_id)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/x-www-form-urlencoded"])
def test_upload_with_another_media_type_is_415_problem_details(client, sender, db, content_type):
    attachment_id = new_attachment(client, sender)
    resp = client.post(_upload_url(attachment_id), data=b"hello", headers=sender, content_type=content_type)
    assert resp.status_code == 415 and resp.get_json()["status"] == 415
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert attachment_statuses(db, attachment_id) == [(A.Initialized, "Initialized")]


def test_upload_octet_stream_with_parameters_is_accepted(client, sender):
    attachment_id = new_attachment(client, sender)
    resp = client.post(_upload_url(attachment_id), data=b"x", headers=sender,
                       content_type="application/octet-stream; charset=binary")
    assert resp.status_code == 200, resp.get_json()


def test_purge_answers_204_without_content_type_or_body(client, sender):
    attachment_id = uploaded_attachment(client, sender)
    resp = client.delete(f"{ATTACHMENT_URL}/{attachment_id}", headers=sender)
    assert resp.status_code == 204
    assert "Content-Type" not in resp.headers and resp.data == b""


def test_no_204_of_the_app_carries_a_content_type(settings):
    """Any 204 (purge or a future one) goes out without a Content-Type."""
    from flask import Response

    from app.web import create_app

    fresh = create_app(settings)

    @fresh.get("/__test_204")
    def _no_content():
        return Response(status=204)

    resp = fresh.test_client().get("/__test_204")
    assert resp.status_code == 204 and "Content-Type" not in resp.headers
