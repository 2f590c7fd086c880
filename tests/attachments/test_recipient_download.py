"""GET /correspondence/{id}/attachment/{attachmentId}/download for the recipient (SPEC.md §3.9)."""

from __future__ import annotations

import uuid

import pytest

from app.domain.enums import AttachmentStatus as A
from app.domain.enums import CorrespondenceStatus as S
from tests.api.helpers import assert_error, details, ok
from tests.attachments.helpers import add_attachment_status, entry, form_fields, post_multipart
from tests.conftest import READ
from tests.factories import PERSON_RECIPIENT
from tests.lifecycle.helpers import action, publish_now, recipient_headers, statuses_of

BASE = "/correspondence/api/v1/correspondence"


def send(client, sender, files: list[tuple[str, bytes]], **correspondence: str) -> tuple[str, list[str]]:
    fields = form_fields([PERSON_RECIPIENT], [entry(name) for name, _ in files], **correspondence)
    answer = ok(post_multipart(client, sender, fields, files))
    return answer["correspondences"][0]["correspondenceId"], answer["attachmentIds"]


def url(cid: str, attachment_id: str) -> str:
    return f"{BASE}/{cid}/attachment/{attachment_id}/download"


@pytest.fixture()
def me(tokens):
    return recipient_headers(tokens)


def test_download_streams_the_file_and_records_it(client, sender, db, me):
    cid, [pdf, txt] = send(client, sender, [("brev.pdf", b"%PDF-1.7 ..."), ("notat.txt", b"hei")])
    publish_now(db)
    got = client.get(url(cid, pdf), headers={**me, "Accept": "application/pdf"})
    assert got.status_code == 200 and got.data == b"%PDF-1.7 ..."
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"] == "inline; filename=brev.pdf"
    assert got.headers["Content-Length"] == str(len(b"%PDF-1.7 ..."))
    got = client.get(url(cid, txt), headers=me)
    assert got.headers["Content-Type"].startswith("text/plain")
    assert got.headers["Content-Disposition"] == "attachment; filename=notat.txt"

    assert statuses_of(db, cid).count(S.AttachmentsDownloaded) == 2
    view = details(client, cid, me).get_json()
    assert view["status"] == "AttachmentsDownloaded"
    assert [h["statusText"] for h in view["statusHistory"] if h["status"] == "AttachmentsDownloaded"] == [
        f"Attachment {pdf} has been downloaded",
        f"Attachment {txt} has been downloaded",
    ]


def test_non_ascii_file_names_get_an_rfc_5987_name(client, sender, db, me):
    cid, [attachment] = send(client, sender, [("blåbær rapport.pdf", b"x")])
    publish_now(db)
    disposition = client.get(url(cid, attachment), headers=me).headers["Content-Disposition"]
    assert disposition.startswith('inline; filename="blabr rapport.pdf"; filename*=UTF-8')
    assert "bl%C3%A5b%C3%A6r%20rapport.pdf" in disposition


def test_not_available_before_publish_nor_to_others(client, sender, db, me, tokens):
    cid, [attachment] = send(client, sender, [("a.txt", b"x")], requestedPublishTime="2099-01-01T00:00:00Z")
    assert_error(client.get(url(cid, attachment), headers=me), 404, 1001)  # not published
    other_person = tokens.headers(org=None, pid="07827199405", scopes=(READ,))
    assert_error(client.get(url(cid, attachment), headers=other_person), 404, 1001)
    assert_error(client.get(url(str(uuid.uuid4()), attachment), headers=me), 404, 1001)
    assert client.get(url(cid, attachment), headers=sender).status_code == 403  # sender token: no read scope
    assert client.get(url(cid, attachment)).status_code == 401


def test_only_the_recipient_downloads(client, sender, db, me, tokens):
    cid, [attachment] = send(client, sender, [("a.txt", b"x")])
    publish_now(db)
    for someone_else in (
        tokens.headers(org=None, pid="07827199405", scopes=(READ,)),
        tokens.headers(scopes=(READ,)),
    ):  # the sender's organization with a read token
        assert_error(client.get(url(cid, attachment), headers=someone_else), 404, 1001)
    assert client.get(url(cid, attachment), headers=me).status_code == 200


def test_attachment_must_be_linked_and_available(client, sender, db, me):
    cid, [attachment] = send(client, sender, [("a.txt", b"x")])
    other_cid, [other_attachment] = send(client, sender, [("b.txt", b"y")])
    publish_now(db)
    assert_error(client.get(url(cid, other_attachment), headers=me), 404, 2001)
    assert_error(client.get(url(cid, str(uuid.uuid4())), headers=me), 404, 2001)

    add_attachment_status(db, attachment, A.Expired, "The attachment has expired")
    assert_error(client.get(url(cid, attachment), headers=me), 400, 2020)
    add_attachment_status(db, other_attachment, A.Purged, "Purged")
    assert_error(client.get(url(other_cid, other_attachment), headers=me), 400, 2019)


def test_link_expiration_time_passed_is_2020(client, sender, db, me):
    cid, [attachment] = send(client, sender, [("a.txt", b"x")])
    publish_now(db)
    with db.transaction() as conn:
        conn.execute(
            "UPDATE initialization_attachments SET expiration_time = now() - interval '1 minute' "
            "WHERE attachment_id = %s",
            (uuid.UUID(attachment),),
        )
    assert_error(client.get(url(cid, attachment), headers=me), 400, 2020)


def test_purged_correspondence_is_gone_with_its_unused_attachment_file(client, sender, db, me, app):
    from app.storage import storage_from_settings

    cid, [attachment] = send(client, sender, [("a.txt", b"x")])
    publish_now(db)
    assert client.get(url(cid, attachment), headers=me).status_code == 200
    storage = storage_from_settings(app.extensions["correspondence"].settings)
    storage.open(attachment).close()  # the file is there
    assert action(client, cid, "purge", me).status_code == 200
    assert_error(client.get(url(cid, attachment), headers=me), 404, 1001)
    with pytest.raises(FileNotFoundError):
        storage.open(attachment)


def test_head_request_checks_but_does_not_record_a_download(client, sender, db, me):
    cid, [txt] = send(client, sender, [("notat.txt", b"hei")])
    publish_now(db)
    assert client.head(url(cid, txt), headers=me).status_code == 200
    assert S.AttachmentsDownloaded not in statuses_of(db, cid)
