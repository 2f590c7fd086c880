"""The attachment controller (SPEC.md §3.11): initialize, upload, overview, details, purge, download."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from app.domain.enums import AttachmentStatus as A
from tests.api.helpers import assert_error, assert_validation, insert_attachment, ok, post
from tests.attachments.helpers import (
    ATTACHMENT_URL,
    add_attachment_status,
    attachment_statuses,
    initialize_attachment,
    md5,
    new_attachment,
    stored,
    upload,
    uploaded_attachment,
)
from tests.conftest import OTHER_ORG, READ
from tests.factories import initialize_request
from tests.lifecycle.helpers import publish_now


@pytest.fixture()
def other_sender(tokens):
    return tokens.headers(org=OTHER_ORG)


def test_initialize_upload_and_read_back(client, sender, db, app):
    attachment_id = new_attachment(
        client, sender, displayName="Vedlegg", expirationInDays=30, isEncrypted=True
    )
    uuid.UUID(attachment_id)
    assert attachment_statuses(db, attachment_id) == [(A.Initialized, "Initialized")]

    body = ok(upload(client, sender, attachment_id, b"hello world"))
    assert body["status"] == "Published" and body["statusText"] == "Published"
    assert body["checksum"] == md5(b"hello world")  # computed when none was given
    assert attachment_statuses(db, attachment_id) == [
        (A.Initialized, "Initialized"),
        (A.UploadProcessing, "UploadProcessing"),
        (A.Published, "Published"),
    ]
    assert stored(app, attachment_id)

    overview = ok(client.get(f"{ATTACHMENT_URL}/{attachment_id}", headers=sender))
    assert list(overview) == [
        "attachmentId",
        "resourceId",
        "sender",
        "fileName",
        "displayName",
        "isEncrypted",
        "checksum",
        "sendersReference",
        "expirationInDays",
        "status",
        "statusText",
        "statusChanged",
        "correspondenceIds",
        "dataType",
    ]
    assert overview["attachmentId"] == attachment_id and overview["resourceId"] == "test-service"
    assert overview["sender"] == "urn:altinn:organization:identifier-no:991825827"
    assert (overview["fileName"], overview["displayName"], overview["expirationInDays"]) == (
        "vedlegg.txt",
        "Vedlegg",
        30,
    )
    assert (overview["dataType"], overview["correspondenceIds"]) == ("text/plain", [])

    details = ok(client.get(f"{ATTACHMENT_URL}/{attachment_id}/details", headers=sender))
    assert [s["status"] for s in details["statusHistory"]] == ["Initialized", "UploadProcessing", "Published"]

    download = client.get(f"{ATTACHMENT_URL}/{attachment_id}/download", headers=sender)
    assert download.status_code == 200 and download.data == b"hello world"
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Length"] == "11"
    assert download.headers["Content-Disposition"] == "attachment; filename=vedlegg.txt"


def test_details_fall_back_to_file_name_and_empty_checksum(client, sender):
    attachment_id = new_attachment(client, sender)
    details = ok(client.get(f"{ATTACHMENT_URL}/{attachment_id}/details", headers=sender))
    assert (details["displayName"], details["checksum"], details["status"]) == (
        "vedlegg.txt",
        "",
        "Initialized",
    )
    overview = ok(client.get(f"{ATTACHMENT_URL}/{attachment_id}", headers=sender))
    assert (overview["displayName"], overview["checksum"]) == (None, None)


def test_generic_access_resources_and_urn_prefixed_ids_are_accepted(client, sender):
    ok(initialize_attachment(client, sender, resourceId="generic-resource"))
    ok(initialize_attachment(client, sender, resourceId="urn:altinn:resource:test-service"))


@pytest.mark.parametrize(
    "fields, status, code",
    [
        ({"resourceId": "no-such-service"}, 400, 1036),
        ({"resourceId": "other-owner-service"}, 401, 4001),
        ({"resourceId": "app-resource"}, 400, 4009),
        ({"fileName": None}, 400, 2010),
        ({"fileName": "  "}, 400, 2010),
        ({"fileName": "x" * 252 + ".txt"}, 400, 2011),
        ({"fileName": "program.exe"}, 400, 2013),
        ({"fileName": "a:b.txt"}, 400, 2012),
        ({"fileName": "PRN.pdf"}, 400, 2021),
        ({"expirationInDays": 0}, 400, 2017),
    ],
    ids=["1036", "4001", "4009", "2010-null", "2010-blank", "2011", "2013", "2012", "2021", "2017"],
)
def test_initialize_errors(client, sender, fields, status, code):
    assert_error(initialize_attachment(client, sender, **fields), status, code)


def test_expiration_needs_14_days_in_production(client, sender, app, settings, monkeypatch):
    ok(initialize_attachment(client, sender, expirationInDays=1))
    services = app.extensions["correspondence"]
    monkeypatch.setattr(services, "settings", dataclasses.replace(settings, environment="production"))
    body = assert_error(initialize_attachment(client, sender, expirationInDays=13), 400, 2017)
    assert "at least 14 days" in body["detail"]
    ok(initialize_attachment(client, sender, expirationInDays=14))


def test_initialize_model_validation(client, sender):
    assert_validation(initialize_attachment(client, sender, sendersReference=None), path="SendersReference")
    assert_validation(initialize_attachment(client, sender, checksum="ABC"), "length of 32 characters")
    assert_validation(
        initialize_attachment(client, sender, resourceId="a:b:c"), "Invalid Resource identifier"
    )
    resp = client.post(ATTACHMENT_URL, data="{", headers=sender, content_type="application/json")
    assert_validation(resp)
    assert client.post(ATTACHMENT_URL, data="x", headers=sender, content_type="text/plain").status_code == 415
    assert client.post(ATTACHMENT_URL, json={}, headers={}).status_code == 401
    assert client.post(ATTACHMENT_URL, json={}, headers={"Authorization": "Bearer x"}).status_code == 401


def test_recipient_token_is_forbidden(client, tokens):
    reader = tokens.headers(org=None, pid="08900499559", scopes=(READ,))
    assert initialize_attachment(client, reader).status_code == 403


def test_upload_errors(client, sender, other_sender, db, app):
    attachment_id = new_attachment(client, sender)
    assert upload(client, sender, attachment_id, b"x", content_type="text/plain").status_code == 415
    assert_error(upload(client, sender, str(uuid.uuid4()), b"x"), 404, 2001)
    assert_error(upload(client, other_sender, attachment_id, b"x"), 401, 4001)
    body = assert_error(upload(client, sender, attachment_id, b""), 400, 2004)
    assert body["detail"].endswith("max file size of 50GB")
    assert attachment_statuses(db, attachment_id) == [(A.Initialized, "Initialized")]  # nothing started
    ok(upload(client, sender, attachment_id, b"x"))
    assert_error(upload(client, sender, attachment_id, b"y"), 400, 2005)
    failed = new_attachment(client, sender, checksum=md5(b"other"))
    assert_error(upload(client, sender, failed, b"y"), 400, 2008)
    assert_error(upload(client, sender, failed, b"other"), 400, 2005)  # once, even after a failure


def test_upload_refused_once_linked_to_a_correspondence(client, sender):
    attachment_id = insert_attachment(
        client.application.extensions["correspondence"].db
    )  # Published, never uploaded
    body = initialize_request()
    body["existingAttachments"] = [attachment_id]
    ok(post(client, body, sender))
    assert_error(upload(client, sender, attachment_id, b"x"), 400, 2003)


def test_upload_refused_after_purge(client, sender):
    attachment_id = new_attachment(client, sender)
    assert client.delete(f"{ATTACHMENT_URL}/{attachment_id}", headers=sender).status_code == 204
    assert_error(upload(client, sender, attachment_id, b"x"), 400, 2006)


def test_checksum_mismatch_fails_the_attachment(client, sender, db, app):
    attachment_id = new_attachment(client, sender, checksum=md5(b"expected"))
    assert_error(upload(client, sender, attachment_id, b"something else"), 400, 2008)
    assert attachment_statuses(db, attachment_id)[-1] == (A.Failed, "Checksum mismatch")
    assert ok(client.get(f"{ATTACHMENT_URL}/{attachment_id}", headers=sender))["status"] == "Failed"
    assert not stored(app, attachment_id)
    assert_error(client.get(f"{ATTACHMENT_URL}/{attachment_id}/download", headers=sender), 404, 2001)


def test_matching_checksum_is_kept(client, sender):
    attachment_id = new_attachment(client, sender, checksum=md5(b"expected"))
    assert ok(upload(client, sender, attachment_id, b"expected"))["checksum"] == md5(b"expected")


class _BrokenStorage:
    def save(self, key, chunks):
        for _ in chunks:
            raise OSError("disk full")

    def open(self, key):
        raise FileNotFoundError(key)

    def delete(self, key):
        pass


def test_storage_failure_is_502_and_fails_the_attachment(client, sender, db, app, monkeypatch):
    attachment_id = new_attachment(client, sender)
    monkeypatch.setitem(app.extensions, "attachment_storage", _BrokenStorage())
    assert_error(upload(client, sender, attachment_id, b"data"), 502, 2002)
    assert attachment_statuses(db, attachment_id)[-1] == (A.Failed, "Upload failed")


def test_overview_and_details_errors(client, sender, other_sender):
    attachment_id = new_attachment(client, sender)
    for suffix in ("", "/details"):
        assert_error(client.get(f"{ATTACHMENT_URL}/{uuid.uuid4()}{suffix}", headers=sender), 404, 2001)
        assert_error(client.get(f"{ATTACHMENT_URL}/{attachment_id}{suffix}", headers=other_sender), 401, 4001)


def test_purge(client, sender, other_sender, db, app):
    attachment_id = uploaded_attachment(client, sender)
    assert_error(client.delete(f"{ATTACHMENT_URL}/{uuid.uuid4()}", headers=sender), 404, 2001)
    assert_error(client.delete(f"{ATTACHMENT_URL}/{attachment_id}", headers=other_sender), 401, 4001)
    resp = client.delete(f"{ATTACHMENT_URL}/{attachment_id}", headers=sender)
    assert resp.status_code == 204 and resp.data == b""
    assert attachment_statuses(db, attachment_id)[-1] == (A.Purged, "Attachment has been purged")
    assert not stored(app, attachment_id)
    assert_error(client.delete(f"{ATTACHMENT_URL}/{attachment_id}", headers=sender), 400, 2006)


def test_purge_refused_when_expired_or_linked(client, sender, db):
    expired = uploaded_attachment(client, sender)
    add_attachment_status(db, expired, A.Expired, "The attachment has expired")
    assert_error(client.delete(f"{ATTACHMENT_URL}/{expired}", headers=sender), 400, 2018)

    linked = uploaded_attachment(client, sender)
    body = initialize_request()
    body["existingAttachments"] = [linked]
    cid = ok(post(client, body, sender))["correspondences"][0]["correspondenceId"]
    assert_error(client.delete(f"{ATTACHMENT_URL}/{linked}", headers=sender), 400, 2007)
    assert ok(client.get(f"{ATTACHMENT_URL}/{linked}", headers=sender))["correspondenceIds"] == [cid]


def test_sender_download_errors(client, sender, other_sender, db):
    url = f"{ATTACHMENT_URL}/{{}}/download"
    assert_error(client.get(url.format(uuid.uuid4()), headers=sender), 404, 2001)
    assert_error(
        client.get(url.format(new_attachment(client, sender)), headers=sender), 404, 2001
    )  # no bytes yet
    uploaded = uploaded_attachment(client, sender)
    assert_error(client.get(url.format(uploaded), headers=other_sender), 401, 4001)
    assert (
        client.get(url.format(uploaded), headers={**sender, "Accept": "application/octet-stream"}).status_code
        == 200
    )

    purged = uploaded_attachment(client, sender)
    add_attachment_status(db, purged, A.Purged, "Purged")
    assert_error(client.get(url.format(purged), headers=sender), 400, 2019)

    expired = uploaded_attachment(client, sender)
    add_attachment_status(db, expired, A.Expired, "The attachment has expired")
    assert_error(client.get(url.format(expired), headers=sender), 400, 2020)

    body = initialize_request()
    body["existingAttachments"] = [uploaded]
    ok(post(client, body, sender))
    assert client.get(url.format(uploaded), headers=sender).status_code == 200  # linked, not yet published
    publish_now(db)
    assert_error(client.get(url.format(uploaded), headers=sender), 400, 2016)
