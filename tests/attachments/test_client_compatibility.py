"""What Altinn's own clients send to the attachment endpoints (issue 10): an upload without a media
type, file names with control characters, and a 204 that carries no Content-Type."""

from __future__ import annotations

import pytest

from app.domain.enums import AttachmentStatus as A
from app.domain.errors import CorrespondenceError
from tests.api.helpers import assert_error, assert_validation, count_all_tables
from tests.attachments.helpers import (
    ATTACHMENT_URL,
    attachment_statuses,
    entry,
    form_fields,
    initialize_attachment,
    md5,
    new_attachment,
    post_multipart,
    stored,
    uploaded_attachment,
)

FILE_NAME_MESSAGE = CorrespondenceError(2012).detail


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


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/json", "application/x-www-form-urlencoded"]
)
def test_upload_with_another_media_type_is_415_problem_details(client, sender, db, content_type):
    attachment_id = new_attachment(client, sender)
    resp = client.post(_upload_url(attachment_id), data=b"hello", headers=sender, content_type=content_type)
    assert resp.status_code == 415 and resp.get_json()["status"] == 415
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert attachment_statuses(db, attachment_id) == [(A.Initialized, "Initialized")]


def test_upload_octet_stream_with_parameters_is_accepted(client, sender):
    attachment_id = new_attachment(client, sender)
    resp = client.post(
        _upload_url(attachment_id),
        data=b"x",
        headers=sender,
        content_type="application/octet-stream; charset=binary",
    )
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


CONTROL_NAMES = ["a\x00b.txt", "a\x01b.txt", "a\tb.txt", "a\nb.txt", "a\x1fb.txt", "\x00.txt"]


@pytest.mark.parametrize("file_name", CONTROL_NAMES, ids=[repr(n) for n in CONTROL_NAMES])
def test_control_characters_in_an_attachment_file_name_are_2012(client, sender, db, file_name):
    before = count_all_tables(db)
    body = assert_error(initialize_attachment(client, sender, fileName=file_name), 400, 2012)
    assert body["detail"] == FILE_NAME_MESSAGE
    assert count_all_tables(db) == before


def test_nul_in_the_file_name_still_comes_after_the_earlier_checks(client, sender, tokens):
    assert_error(
        initialize_attachment(client, sender, fileName="a\x00.txt", resourceId="no-such-service"), 400, 1036
    )
    other = tokens.headers(org="310654329")
    assert_error(initialize_attachment(client, other, fileName="a\x00.txt"), 401, 4001)
    assert_error(initialize_attachment(client, sender, fileName="a\x00.exe"), 400, 2013)  # extension first


def test_nul_elsewhere_is_still_a_validation_problem(client, sender):
    assert_validation(initialize_attachment(client, sender, sendersReference="a\x00b"))
    assert_validation(initialize_attachment(client, sender, displayName="a\x00b"))
    assert_validation(initialize_attachment(client, sender, fileName="a\ud800.txt"))  # lone surrogate


@pytest.mark.parametrize("file_name", CONTROL_NAMES, ids=[repr(n) for n in CONTROL_NAMES])
def test_multipart_initialize_with_control_characters_in_the_file_name_is_2012(client, sender, db, file_name):
    before = count_all_tables(db)
    fields = form_fields(attachments=[entry(file_name, sendersReference="ref-a")])
    body = assert_error(post_multipart(client, sender, fields, [(file_name, b"x")]), 400, 2012)
    assert body["detail"] == FILE_NAME_MESSAGE
    assert count_all_tables(db) == before


def test_multipart_nul_outside_file_names_is_still_a_validation_problem(client, sender):
    fields = [(n, "Tittel\x00" if n.endswith("messageTitle") else v) for n, v in form_fields()]
    assert_validation(post_multipart(client, sender, fields, []))
