"""POST /correspondence/upload: Initialize with files (SPEC.md §3.3, §4.1 steps 16–18, 22)."""

from __future__ import annotations

import json

import pytest

from app.domain.enums import AttachmentStatus as A
from tests.api.helpers import assert_error, assert_validation, count_all_tables, details, ok
from tests.attachments.helpers import (
    ATTACHMENT_URL,
    UPLOAD_URL,
    attachment_statuses,
    entry,
    form_fields,
    leftovers,
    md5,
    post_multipart,
    stored,
)
from tests.factories import ORG_RECIPIENT, PERSON_RECIPIENT, initialize_request
from tests.lifecycle.helpers import publish_now, recipient_headers

BASE = "/correspondence/api/v1/correspondence"


def test_two_files_two_recipients_share_the_same_two_attachments(client, sender, db, app, tokens):
    fields = form_fields(
        [ORG_RECIPIENT, PERSON_RECIPIENT],
        [entry("a.txt", displayName="Første"), entry("b.pdf", checksum=md5(b"%PDF b"))],
    )
    answer = ok(post_multipart(client, sender, fields, [("a.txt", b"file a"), ("b.pdf", b"%PDF b")]))
    assert [c["recipient"] for c in answer["correspondences"]] == [ORG_RECIPIENT, PERSON_RECIPIENT]
    assert all(c["status"] == "ReadyForPublish" for c in answer["correspondences"])
    assert len(answer["attachmentIds"]) == 2
    first, second = answer["attachmentIds"]
    cids = [c["correspondenceId"] for c in answer["correspondences"]]
    for cid in cids:
        attachments = details(client, cid, sender).get_json()["content"]["attachments"]
        assert [(a["id"], a["fileName"], a["status"]) for a in attachments] == [
            (first, "a.txt", "Published"),
            (second, "b.pdf", "Published"),
        ]
    overview = ok(client.get(f"{ATTACHMENT_URL}/{first}", headers=sender))
    assert sorted(overview["correspondenceIds"]) == sorted(cids)
    assert (overview["displayName"], overview["checksum"]) == ("Første", md5(b"file a"))
    assert [s for s, _ in attachment_statuses(db, second)] == [A.Initialized, A.UploadProcessing, A.Published]

    publish_now(db)
    got = client.get(f"{BASE}/{cids[1]}/attachment/{second}/download", headers=recipient_headers(tokens))
    assert got.status_code == 200 and got.data == b"%PDF b"


def test_files_are_matched_to_entries_by_file_name(client, sender, db):
    fields = form_fields(attachments=[entry("b.txt"), entry("a.txt")])
    answer = ok(post_multipart(client, sender, fields, [("a.txt", b"AAA"), ("b.txt", b"BBB")]))
    b_id, a_id = answer["attachmentIds"]
    for attachment_id, content in ((a_id, b"AAA"), (b_id, b"BBB")):
        assert client.get(f"{ATTACHMENT_URL}/{attachment_id}/download", headers=sender).data == content


def test_form_binding_variants_reach_the_model(client, sender):
    fields = [
        ("request.Correspondence.ResourceId", "urn:altinn:resource:test-service"),
        ("request.correspondence.SENDERSREFERENCE", "ref-x"),
        ("request.correspondence.content.messageTitle", "Tittel"),
        ("request.correspondence.content.messageBody", "Tekst"),
        ("request.correspondence.propertyList.caseNumber", "123"),
        ("request.correspondence.propertyList[Other]", "x"),
        ("request.correspondence.replyOptions[0].linkURL", "https://example.com/svar"),
        ("request.recipients[0]", ORG_RECIPIENT),
        ("recipients[0]", "ignored: the prefixed model binds exclusively"),
    ]
    answer = ok(post_multipart(client, sender, fields, []))
    assert answer["attachmentIds"] == []
    view = details(client, answer["correspondences"][0]["correspondenceId"], sender).get_json()
    assert view["propertyList"] == {"caseNumber": "123", "Other": "x"}
    assert (
        view["sendersReference"] == "ref-x"
        and view["replyOptions"][0]["linkURL"] == "https://example.com/svar"
    )


def test_json_body_is_415_and_json_initialize_keeps_1005(client, sender):
    resp = client.post(
        UPLOAD_URL, data=json.dumps(initialize_request()), headers=sender, content_type="application/json"
    )
    assert resp.status_code == 415 and resp.get_json()["status"] == 415
    body = initialize_request()
    body["correspondence"]["content"]["attachments"] = [entry("a.txt")]
    assert_error(client.post(BASE, json=body, headers=sender), 400, 1005)


def test_model_validation_from_form_fields(client, sender):
    fields = [f for f in form_fields() if not f[0].endswith("messageTitle")] + [
        ("correspondence.content.messageTitle", "")
    ]
    assert_validation(post_multipart(client, sender, fields, []), path="Correspondence.Content.MessageTitle")
    assert_validation(post_multipart(client, sender, form_fields(["123456789"]), []), path="Recipients")
    assert_validation(post_multipart(client, sender, [], []))
    too_long = form_fields(attachments=[entry("x" * 252 + ".txt")])  # 255 at model level, as in the original
    assert_validation(post_multipart(client, sender, too_long, [("x" * 252 + ".txt", b"x")]))


@pytest.mark.parametrize(
    "attachments, files, code",
    [
        ([entry("a.txt")], [], 1005),
        ([], [("a.txt", b"x")], 1005),
        ([entry("a.txt")], [("b.txt", b"x")], 1005),
        (
            [entry("b.txt"), entry("a.txt"), entry("a.txt")],
            [("a.txt", b"1"), ("a.txt", b"2"), ("b.txt", b"3")],
            1005,
        ),
        ([entry("a.txt")], [("a.txt", b"")], 2004),
        ([entry("")], [("", b"x")], 2010),
        ([entry("a.exe")], [("a.exe", b"x")], 2013),
        ([entry("a*b.txt")], [("a*b.txt", b"x")], 2012),
        ([entry("NUL.txt")], [("NUL.txt", b"x")], 2021),
        ([entry("a.txt", expirationInDays=0)], [("a.txt", b"x")], 2017),
        ([entry("bad.exe"), entry("a.txt")], [("a.txt", b"x")], 2013),  # names are checked before matching
    ],
    ids=[
        "1005-missing-file",
        "1005-extra-file",
        "1005-name",
        "1005-ambiguous",
        "2004",
        "2010",
        "2013",
        "2012",
        "2021",
        "2017",
        "names-before-1005",
    ],
)
def test_file_rules(client, sender, db, attachments, files, code):
    before = count_all_tables(db)
    assert_error(post_multipart(client, sender, form_fields(attachments=attachments), files), 400, code)
    assert count_all_tables(db) == before  # rejected before anything is written


def test_rules_before_attachments_still_come_first(client, sender):
    fields = [
        (name, "no-such-service" if name == "correspondence.resourceId" else value)
        for name, value in form_fields(attachments=[entry("a.exe")])
    ]
    assert_error(post_multipart(client, sender, fields, [("a.exe", b"x")]), 400, 1036)


def test_1069_counts_the_uploaded_bytes(client, sender):
    fields = form_fields(attachments=[entry("big.txt")], allowForwarding="true")
    assert_error(post_multipart(client, sender, fields, [("big.txt", b"x" * 10_000_001)]), 400, 1069)
    ok(post_multipart(client, sender, fields, [("big.txt", b"x" * 10_000_000)]))


def test_checksum_mismatch_fails_the_attachment_and_creates_no_correspondence(client, sender, db, app):
    fields = form_fields(attachments=[entry("a.txt", checksum=md5(b"expected"))])
    with db.transaction() as conn:
        correspondences_before = conn.execute("SELECT count(*) AS n FROM correspondences").fetchone()["n"]
    assert_error(post_multipart(client, sender, fields, [("a.txt", b"different")]), 400, 2008)
    with db.transaction() as conn:
        assert (
            conn.execute("SELECT count(*) AS n FROM correspondences").fetchone()["n"]
            == correspondences_before
        )
        row = conn.execute("SELECT id FROM attachments ORDER BY created DESC LIMIT 1").fetchone()
    assert attachment_statuses(db, str(row["id"]))[-1] == (A.Failed, "Checksum mismatch")
    assert not stored(app, str(row["id"])) and leftovers(app) == []


def test_existing_and_new_attachments_together(client, sender):
    existing = ok(
        client.post(
            ATTACHMENT_URL,
            json={"resourceId": "test-service", "fileName": "e.txt", "sendersReference": "e"},
            headers=sender,
        )
    )
    ok(
        client.post(
            f"{ATTACHMENT_URL}/{existing}/upload",
            data=b"e",
            headers=sender,
            content_type="application/octet-stream",
        )
    )
    fields = [*form_fields(attachments=[entry("n.txt")]), ("existingAttachments[0]", existing)]
    answer = ok(post_multipart(client, sender, fields, [("n.txt", b"n")]))
    assert answer["attachmentIds"][1] == existing and len(answer["attachmentIds"]) == 2
