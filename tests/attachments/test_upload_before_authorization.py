"""Multipart Initialize reads no file before the caller may send (issue 24, finding 1).

The text fields come first; the token, the resource and the byte cap the text declares are checked
before the first file byte is read; files stream straight to storage (no temporary spool); a request
refused mid-body is answered at once and leaves no file behind.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from app.api import attachments as attachments_api
from app.usecases import initialize_with_upload
from tests.api.helpers import assert_error, assert_validation, ok
from tests.attachments.bodies import (
    BOUNDARY,
    CLOSE,
    CONTENT_TYPE,
    Body,
    GiB,
    MiB,
    file_head,
    open_files,
    text_parts,
    upload_body,
)
from tests.attachments.helpers import UPLOAD_URL, entry, form_fields, leftovers, storage_dir

NO_RESOURCE_ORG = "920000002"  # a valid organization number that owns no resource


def post_body(client, headers, body: Body, *, content_length: bool = True):
    chunked = {"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"}  # no Content-Length
    extra = {} if content_length else {"environ_overrides": chunked}
    return client.post(
        UPLOAD_URL,
        input_stream=body,
        content_length=body.total if content_length else None,
        content_type=CONTENT_TYPE,
        headers=headers,
        **extra,
    )


def stored_files(app) -> set[str]:
    folder = storage_dir(app)
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


class Watch:
    """Looks at this process's open files at each read of the body: a spooled or stored file part
    shows there (an unlinked temporary too), even if it is gone by the end of the request."""

    def __init__(self, app) -> None:
        self.folders = [Path(tempfile.gettempdir()).resolve(), storage_dir(app).resolve()]
        self.before = open_files(under=self.folders)
        self.seen: set[str] = set()

    def __call__(self) -> None:
        self.seen |= open_files(under=self.folders) - self.before


def test_a_token_owning_no_resource_is_refused_before_10_mib_of_a_1_gib_body(client, tokens, app):
    headers = tokens.headers(org=NO_RESOURCE_ORG)
    before = stored_files(app)
    small = upload_body(1024)
    expected = assert_error(post_body(client, headers, small), 401, 4001)

    watch = Watch(app)
    big = upload_body(GiB, fail_after=10 * MiB, on_read=watch)
    problem = assert_error(post_body(client, headers, big), 401, 4001)

    assert big.position < 10 * MiB, f"{big.position / MiB:.1f} MiB read before the refusal"
    assert {k: v for k, v in problem.items() if k != "traceId"} == {
        k: v for k, v in expected.items() if k != "traceId"
    }
    assert watch.seen == set(), watch.seen
    assert stored_files(app) == before


def test_chunked_1_gib_body_from_another_resource_owner_is_refused_at_once(client, tokens, app):
    fields = form_fields(attachments=[entry("stor.txt")])  # test-service is not this sender's
    watch = Watch(app)
    body = upload_body(GiB, fields=fields, fail_after=10 * MiB, on_read=watch)
    assert_error(post_body(client, tokens.headers(org="310654329"), body, content_length=False), 401, 4001)
    assert body.position < 10 * MiB and watch.seen == set()


def test_attachment_upload_of_1_gib_by_a_token_owning_no_resource_reads_nothing(client, sender, tokens, app):
    from tests.attachments.helpers import ATTACHMENT_URL, new_attachment

    attachment_id = new_attachment(client, sender)
    headers = tokens.headers(org=NO_RESOURCE_ORG)
    answers = []
    for size in (1024, GiB):
        body = Body(("file", size), fail_after=10 * MiB)
        response = client.post(
            f"{ATTACHMENT_URL}/{attachment_id}/upload",
            input_stream=body,
            content_length=size,
            content_type="application/octet-stream",
            headers=headers,
        )
        answers.append((response.status_code, response.get_json()["errorCode"]))
        assert body.position == 0
    assert answers[0] == answers[1] and answers[0][0] in (401, 404)
    assert not (storage_dir(app) / attachment_id).exists() and leftovers(app) == []


def test_content_length_above_what_the_entries_declare_is_413_before_any_file_byte(client, sender, app):
    before = stored_files(app)
    body = upload_body(2_001_000_000, fail_after=10 * MiB)  # one entry: at most 2 GB
    response = post_body(client, sender, body)
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert "1 attachment entry" in response.get_json()["detail"]
    assert body.position < 10 * MiB and stored_files(app) == before


def test_a_chunked_body_past_the_declared_files_is_413_mid_body_and_leaves_nothing(
    client, sender, app, monkeypatch
):
    monkeypatch.setattr(attachments_api, "MULTIPART_MAX_FILE_BYTES", 1 * MiB)
    before = stored_files(app)
    body = upload_body(GiB, fail_after=20 * MiB)
    response = post_body(client, sender, body, content_length=False)
    assert response.status_code == 413, response.get_json()
    assert body.position < 3 * MiB
    assert stored_files(app) == before and leftovers(app) == []


def test_a_file_over_2_gb_is_2004_at_once_and_the_files_before_it_are_removed(
    client, sender, app, monkeypatch
):
    monkeypatch.setattr(initialize_with_upload, "MULTIPART_MAX_FILE_BYTES", 1 * MiB)
    before = stored_files(app)
    fields = form_fields(attachments=[entry("a.txt"), entry("b.txt"), entry("c.txt")])
    body = Body(
        text_parts(fields),
        file_head("a.txt"),
        ("file", 1000),
        b"\r\n",
        file_head("b.txt"),
        ("file", 3 * MiB),
        b"\r\n",
        file_head("c.txt"),
        ("file", 1000),
        b"\r\n" + CLOSE,
    )
    assert_error(post_body(client, sender, body), 400, 2004)
    assert body.position < 2 * MiB + 4096
    assert stored_files(app) == before and leftovers(app) == []


def test_the_file_parts_go_straight_to_storage(client, sender, app):
    watch = Watch(app)
    body = upload_body(3 * MiB, on_read=watch)
    answer = ok(post_body(client, sender, body))
    (attachment_id,) = answer["attachmentIds"]
    spooled = {name for name in watch.seen if not name.startswith(str(storage_dir(app).resolve()))}
    assert spooled == set(), spooled  # no temporary file, unlinked or not, outside the storage folder
    assert (storage_dir(app) / attachment_id).stat().st_size == 3 * MiB


def test_file_parts_before_the_text_fields_are_refused_at_once(client, sender, app):
    before = stored_files(app)
    fields = form_fields(attachments=[entry("a.txt")])
    body = Body(file_head("a.txt"), ("file", 5 * MiB), b"\r\n", text_parts(fields), CLOSE, fail_after=MiB)
    response = post_body(client, sender, body)
    problem = response.get_json()
    assert response.status_code == 400 and "text fields must come before" in problem["detail"], problem
    assert body.position < MiB and stored_files(app) == before


def test_a_text_field_after_a_file_part_is_refused_and_leaves_no_file(client, sender, app):
    before = stored_files(app)
    fields = form_fields(attachments=[entry("a.txt")])
    late = text_parts([("correspondence.content.attachments[0].checksum", "abc")])
    body = Body(text_parts(fields), file_head("a.txt"), ("file", 1000), b"\r\n", late, CLOSE)
    response = post_body(client, sender, body)
    problem = response.get_json()
    assert response.status_code == 400 and "comes after a file part" in problem["detail"], problem
    assert stored_files(app) == before and leftovers(app) == []


def test_a_body_that_ends_inside_a_file_is_an_interrupted_upload_and_leaves_nothing(client, sender, app):
    before = stored_files(app)
    fields = form_fields(attachments=[entry("a.txt")])
    body = Body(text_parts(fields), file_head("a.txt"), ("file", 2 * MiB))  # no closing boundary
    response = post_body(client, sender, body)
    assert response.status_code == 400 and "interrupted" in response.get_json()["detail"].lower()
    assert stored_files(app) == before and leftovers(app) == []


def test_a_client_gone_mid_file_leaves_nothing(client, sender, app):
    before = stored_files(app)
    body = upload_body(4 * MiB, fail_after=2 * MiB)
    response = post_body(client, sender, body)
    assert response.status_code == 400 and "interrupted" in response.get_json()["detail"].lower()
    assert stored_files(app) == before and leftovers(app) == []


def test_a_part_that_matches_no_entry_is_counted_not_stored(client, sender, app):
    before = stored_files(app)
    fields = form_fields(attachments=[entry("a.txt")])
    body = Body(text_parts(fields), file_head("b.txt"), ("file", 3000), b"\r\n" + CLOSE)
    assert_error(post_body(client, sender, body), 400, 1005)
    assert stored_files(app) == before


NO_DISPOSITION = f"--{BOUNDARY}\r\nX-Other: y\r\n\r\nvalue\r\n--{BOUNDARY}--\r\n".encode()


@pytest.mark.parametrize(
    "content_type, data, detail",
    [
        ("multipart/form-data", b"no multipart here", "boundary"),
        (CONTENT_TYPE, b"no multipart here", "ended before its closing boundary"),
        (CONTENT_TYPE, NO_DISPOSITION, "malformed: Missing Content-Disposition"),
    ],
)
def test_a_malformed_multipart_body_is_a_400_problem(client, sender, content_type, data, detail):
    response = client.post(UPLOAD_URL, data=data, content_type=content_type, headers=sender)
    problem = response.get_json()
    assert response.status_code == 400 and response.mimetype == "application/problem+json", problem
    assert detail in problem["detail"]


def test_text_only_forms_still_validate(client, sender):
    fields = [f for f in form_fields() if not f[0].endswith("messageTitle")]
    body = Body(text_parts(fields), CLOSE)
    assert_validation(post_body(client, sender, body), path="Correspondence.Content.MessageTitle")


def test_a_file_arriving_too_slowly_is_408_and_leaves_nothing(client, sender, app):
    before = stored_files(app)
    body = upload_body(4 * MiB, fail_after=MiB, error=TimeoutError("timed out"))
    assert_error(post_body(client, sender, body), 408, 2022)
    assert stored_files(app) == before and leftovers(app) == []


def test_storage_failing_is_502_and_leaves_nothing(client, sender, app, monkeypatch):
    from app.storage import LocalFolderStorage

    def broken(self, key, chunks):
        for _ in chunks:
            raise OSError("disk full")
        return ""

    monkeypatch.setattr(LocalFolderStorage, "save", broken)
    assert_error(post_body(client, sender, upload_body(1000)), 502, 2002)
