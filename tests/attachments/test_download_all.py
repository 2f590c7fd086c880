"""GET /correspondence/{id}/attachments/downloadall: every attachment as one stored zip (issue 26)."""

from __future__ import annotations

import io
import uuid
import zipfile

import pytest

from app.db.repositories.access import upsert_access
from app.domain.access import AccessGrant
from app.domain.enums import AttachmentStatus as A
from app.domain.enums import CorrespondenceStatus as S
from app.domain.errors import CorrespondenceError
from app.storage import storage_from_settings
from app.usecases import download_all_attachments as usecase
from tests.api.helpers import assert_error, details, ok
from tests.attachments.helpers import add_attachment_status, entry, form_fields, post_multipart
from tests.conftest import READ
from tests.factories import ORG_RECIPIENT, PERSON_RECIPIENT
from tests.lifecycle.helpers import publish_now, recipient_headers, statuses_of

BASE = "/correspondence/api/v1/correspondence"


def send(client, sender, files, recipient=PERSON_RECIPIENT, **correspondence: str) -> tuple[str, list[str]]:
    fields = form_fields([recipient], [entry(name) for name, _ in files], **correspondence)
    answer = ok(post_multipart(client, sender, fields, files))
    return answer["correspondences"][0]["correspondenceId"], answer["attachmentIds"]


def url(cid: str) -> str:
    return f"{BASE}/{cid}/attachments/downloadall"


def events_of(db, cid: str) -> list[str]:
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT event_type FROM correspondence_events WHERE correspondence_id = %s ORDER BY id",
            (uuid.UUID(cid),),
        ).fetchall()
    return [r["event_type"] for r in rows]


@pytest.fixture()
def me(tokens):
    return recipient_headers(tokens)


def test_zip_of_three_attachments_two_with_the_same_name(client, sender, db, me):
    files = [
        ("rapport.pdf", b"%PDF-1.7 first" + bytes(range(256)) * 300),
        ("RAPPORT.pdf", b"%PDF-1.7 second, same name but for case"),
        ("notat.txt", "blåbær".encode() * 1000),
    ]
    cid, _ = send(client, sender, files)
    publish_now(db)

    got = client.get(url(cid), headers=me)

    assert got.status_code == 200
    assert got.headers["Content-Type"] == "application/zip"
    assert got.headers["Content-Disposition"] == "attachment; filename=testmelding.zip"
    assert got.headers["Content-Length"] == str(len(got.data))
    with zipfile.ZipFile(io.BytesIO(got.data)) as archive:
        assert archive.testzip() is None  # every CRC matches
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["rapport.pdf", "RAPPORT (1).pdf", "notat.txt"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        assert [archive.read(i) for i in infos] == [content for _, content in files]

    assert statuses_of(db, cid).count(S.AttachmentsDownloaded) == 1
    view = details(client, cid, me).get_json()
    assert view["status"] == "AttachmentsDownloaded"
    assert [h["statusText"] for h in view["statusHistory"] if h["status"] == "AttachmentsDownloaded"] == [
        "All attachments downloaded"
    ]
    assert events_of(db, cid).count("attachmentdownloaded") == 1


def test_head_checks_without_recording(client, sender, db, me):
    cid, _ = send(client, sender, [("a.txt", b"abc")])
    publish_now(db)
    got = client.head(url(cid), headers=me)
    assert got.status_code == 200 and int(got.headers["Content-Length"]) > 3
    assert S.AttachmentsDownloaded not in statuses_of(db, cid)


def test_only_the_recipient_and_only_when_available(client, sender, db, me, tokens):
    cid, _ = send(client, sender, [("a.txt", b"x")], requestedPublishTime="2099-01-01T00:00:00Z")
    assert_error(client.get(url(cid), headers=me), 404, 1001)  # not published
    other_cid, _ = send(client, sender, [("b.txt", b"y")])
    publish_now(db)
    for someone_else in (
        tokens.headers(org=None, pid="07827199405", scopes=(READ,)),
        tokens.headers(scopes=(READ,)),  # the sender's organization with a read token
    ):
        assert_error(client.get(url(other_cid), headers=someone_else), 404, 1001)
    assert_error(client.get(url(str(uuid.uuid4())), headers=me), 404, 1001)
    assert client.get(url(other_cid), headers=sender).status_code == 403  # no read scope
    assert client.get(url(other_cid)).status_code == 401


def test_a_person_acting_for_the_recipient_organization(client, sender, db, tokens):
    company = ORG_RECIPIENT.rsplit(":", 1)[1]
    with db.transaction() as conn:
        upsert_access(conn, [AccessGrant("12038513735", company, frozenset({"*"}))])
    cid, _ = send(client, sender, [("a.txt", b"org mail")], recipient=ORG_RECIPIENT)
    publish_now(db)
    acting = tokens.headers(org=None, pid="12038513735", scopes=(READ,), acr="idporten-loa-substantial")
    got = client.get(url(cid), headers=acting)
    assert got.status_code == 200
    with zipfile.ZipFile(io.BytesIO(got.data)) as archive:
        assert archive.read("a.txt") == b"org mail"
    stranger = tokens.headers(org=None, pid="29029012345", scopes=(READ,), acr="idporten-loa-substantial")
    assert_error(client.get(url(cid), headers=stranger), 404, 1001)


def test_every_attachment_must_be_downloadable(client, sender, db, me):
    cid, [first, second] = send(client, sender, [("a.txt", b"x"), ("b.txt", b"y")])
    publish_now(db)
    add_attachment_status(db, second, A.Expired, "The attachment has expired")
    assert_error(client.get(url(cid), headers=me), 400, 2020)
    add_attachment_status(db, first, A.Purged, "Purged")
    assert_error(client.get(url(cid), headers=me), 400, 2019)
    assert S.AttachmentsDownloaded not in statuses_of(db, cid)


def test_link_expiration_and_unpublished_attachment(client, sender, db, me):
    cid, [attachment] = send(client, sender, [("a.txt", b"x")])
    publish_now(db)
    with db.transaction() as conn:
        conn.execute(
            "UPDATE initialization_attachments SET expiration_time = now() - interval '1 minute' "
            "WHERE attachment_id = %s",
            (uuid.UUID(attachment),),
        )
    assert_error(client.get(url(cid), headers=me), 400, 2020)
    with db.transaction() as conn:
        conn.execute(
            "UPDATE initialization_attachments SET expiration_time = NULL WHERE attachment_id = %s",
            (uuid.UUID(attachment),),
        )
        conn.execute(
            "DELETE FROM attachment_statuses WHERE attachment_id = %s AND status = %s",
            (uuid.UUID(attachment), int(A.Published)),
        )
    assert_error(client.get(url(cid), headers=me), 404, 2001)


def test_no_attachments_is_2001(client, sender, db, me):
    cid, _ = send(client, sender, [])
    publish_now(db)
    assert_error(client.get(url(cid), headers=me), 404, 2001)


def test_a_file_gone_from_storage_is_2001(client, sender, db, me, app):
    cid, [_, second] = send(client, sender, [("a.txt", b"x"), ("b.txt", b"y")])
    publish_now(db)
    storage_from_settings(app.extensions["correspondence"].settings).delete(second)
    assert_error(client.get(url(cid), headers=me), 404, 2001)
    assert S.AttachmentsDownloaded not in statuses_of(db, cid)


def test_more_than_2_gb_is_2023(client, sender, db, me, monkeypatch):
    cid, _ = send(client, sender, [("a.txt", b"12345"), ("b.txt", b"678")])
    publish_now(db)
    monkeypatch.setattr(usecase, "MAX_TOTAL_BYTES", 7)
    assert_error(client.get(url(cid), headers=me), 400, 2023)
    monkeypatch.setattr(usecase, "MAX_TOTAL_BYTES", 8)
    assert client.get(url(cid), headers=me).status_code == 200


def test_recorded_size_is_used_when_storage_cannot_seek():
    class Unseekable(io.BytesIO):
        def seekable(self) -> bool:
            return False

    assert usecase._stored_size(Unseekable(b"abc"), 3) == 3
    assert usecase._stored_size(io.BytesIO(b"abcd"), 3) == 4


def test_openapi_documents_the_zip_and_no_requested_send_time(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"][
        "/correspondence/api/v1/correspondence/{correspondence_id}/attachments/downloadall"
    ]
    assert "application/zip" in operation["get"]["responses"]["200"]["content"]
    assert {"400", "401", "403", "404"} <= set(operation["get"]["responses"])
    notification = spec["components"]["schemas"]["NotificationOrder"]["properties"]
    assert "requestedSendTime" not in notification and "notificationChannel" in notification


def test_opening_closes_what_it_opened_when_a_file_is_missing():
    opened: list[io.BytesIO] = []

    class HalfThere:
        def open(self, key: str) -> io.BytesIO:
            if opened:
                raise FileNotFoundError(key)
            opened.append(io.BytesIO(b"x"))
            return opened[-1]

    rows = [{"id": uuid.uuid4(), "file_name": n, "attachment_size": 1} for n in ("a.txt", "b.txt")]
    with pytest.raises(CorrespondenceError) as caught:
        usecase._open_zip(HalfThere(), "Title", rows)  # type: ignore[arg-type]
    assert caught.value.code == 2001 and opened[0].closed
