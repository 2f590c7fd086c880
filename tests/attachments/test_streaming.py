"""Uploads and downloads stream: bounded memory, whole files or none (SPEC.md §1.4, §3.11)."""

from __future__ import annotations

import hashlib
import tracemalloc

from app.domain.enums import AttachmentStatus as A
from tests.api.helpers import assert_error, ok
from tests.attachments.helpers import (
    ATTACHMENT_URL,
    attachment_statuses,
    leftovers,
    new_attachment,
    stored,
)

MB = 1024 * 1024
BLOCK = 64 * 1024
MEMORY_LIMIT = 5 * MB


class PatternStream:
    """A request body of `total` deterministic bytes, produced block by block (never held whole).

    `fail_after` bytes in, it raises `error` (a client that disconnects mid-way); `short_by` bytes
    short of `total` it just ends (a Content-Length larger than the bytes sent).
    """

    def __init__(
        self, total: int, fail_after: int | None = None, error: BaseException | None = None, short_by: int = 0
    ) -> None:
        self.total, self.fail_after, self.error, self.short_by = total, fail_after, error, short_by
        self.position = 0
        self.sha256 = hashlib.sha256()

    # The test client measures the body by seeking to its (announced) end and back.
    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = self.total + offset if whence == 2 else offset
        return self.position

    def read(self, size: int = -1) -> bytes:
        if self.fail_after is not None and self.position >= self.fail_after:
            raise self.error or OSError("connection reset by peer")
        end = self.total - self.short_by
        size = BLOCK if size is None or size < 0 else size
        size = min(size, BLOCK, end - self.position)
        if size <= 0:
            return b""
        block = hashlib.sha256(str(self.position // BLOCK).encode()).digest() * (BLOCK // 32)
        offset = self.position % BLOCK
        chunk = block[offset : offset + size]
        self.position += len(chunk)
        self.sha256.update(chunk)
        return chunk


def stream_upload(client, headers, attachment_id: str, body: PatternStream):
    return client.post(
        f"{ATTACHMENT_URL}/{attachment_id}/upload",
        input_stream=body,
        content_length=body.total,
        content_type="application/octet-stream",
        headers=headers,
    )


def test_20_mb_round_trip_with_bounded_memory(client, sender, app):
    size = 20 * MB
    attachment_id = new_attachment(client, sender, fileName="stor.pdf")
    body = PatternStream(size)

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        answer = ok(stream_upload(client, sender, attachment_id, body))
        upload_peak = tracemalloc.get_traced_memory()[1]

        tracemalloc.reset_peak()
        response = client.get(f"{ATTACHMENT_URL}/{attachment_id}/download", headers=sender, buffered=False)
        assert response.status_code == 200
        assert response.headers["Content-Length"] == str(size)
        downloaded, received = hashlib.sha256(), 0
        for chunk in response.response:
            downloaded.update(chunk)
            received += len(chunk)
        response.close()
        download_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert body.position == size and answer["status"] == "Published"
    assert received == size and downloaded.hexdigest() == body.sha256.hexdigest()
    assert upload_peak < MEMORY_LIMIT, f"upload peak {upload_peak / MB:.1f} MB"
    assert download_peak < MEMORY_LIMIT, f"download peak {download_peak / MB:.1f} MB"
    assert (app.extensions["correspondence"].settings.attachments_dir / attachment_id).stat().st_size == size


def _assert_interrupted(db, app, attachment_id: str, response) -> None:
    problem = response.get_json()
    assert response.status_code == 400 and "interrupted" in problem["detail"].lower(), problem
    statuses = attachment_statuses(db, attachment_id)
    assert statuses[-1] == (A.Failed, "Upload interrupted")
    assert A.Published not in [s for s, _ in statuses]
    assert not stored(app, attachment_id)
    assert leftovers(app) == []


def test_client_disconnect_mid_way_leaves_a_failed_attachment_and_no_file(client, sender, db, app):
    attachment_id = new_attachment(client, sender)
    body = PatternStream(3 * MB, fail_after=MB + 123)
    _assert_interrupted(db, app, attachment_id, stream_upload(client, sender, attachment_id, body))
    assert body.position > 0  # it really was half-way


def test_body_shorter_than_content_length_is_an_interrupted_upload(client, sender, db, app):
    attachment_id = new_attachment(client, sender)
    body = PatternStream(2 * MB, short_by=MB)
    _assert_interrupted(db, app, attachment_id, stream_upload(client, sender, attachment_id, body))
    # The upload was attempted once: a retry is refused (the sender initializes a new attachment).
    assert_error(stream_upload(client, sender, attachment_id, PatternStream(10)), 400, 2005)


def test_short_body_behind_a_server_that_terminates_input_is_interrupted_too(client, sender, db, app):
    """gunicorn sets wsgi.input_terminated and just ends the stream when the client goes away."""
    attachment_id = new_attachment(client, sender)
    body = PatternStream(2 * MB, short_by=MB)
    response = client.post(
        f"{ATTACHMENT_URL}/{attachment_id}/upload",
        input_stream=body,
        content_length=body.total,
        content_type="application/octet-stream",
        headers=sender,
        environ_overrides={"wsgi.input_terminated": True},
    )
    _assert_interrupted(db, app, attachment_id, response)


def test_data_arriving_too_slowly_is_408(client, sender, db, app):
    attachment_id = new_attachment(client, sender)
    body = PatternStream(2 * MB, fail_after=BLOCK, error=TimeoutError("timed out"))
    assert_error(stream_upload(client, sender, attachment_id, body), 408, 2022)
    assert attachment_statuses(db, attachment_id)[-1] == (
        A.Failed,
        "Upload request timed out due to data arriving too slowly",
    )
    assert not stored(app, attachment_id) and leftovers(app) == []


def test_content_length_above_50_gb_is_2004_before_reading(client, sender, db):
    attachment_id = new_attachment(client, sender)
    body = PatternStream(50_000_000_001)
    problem = assert_error(stream_upload(client, sender, attachment_id, body), 400, 2004)
    assert problem["detail"].endswith("50GB") and body.position == 0
    assert attachment_statuses(db, attachment_id) == [(A.Initialized, "Initialized")]


def test_body_without_content_length_is_streamed_too(client, sender, db):
    attachment_id = new_attachment(client, sender)
    body = PatternStream(300 * 1024)
    response = client.post(
        f"{ATTACHMENT_URL}/{attachment_id}/upload",
        input_stream=body,
        content_type="application/octet-stream",
        headers=sender,
        environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"},
    )
    assert ok(response)["status"] == "Published"
    download = client.get(f"{ATTACHMENT_URL}/{attachment_id}/download", headers=sender)
    assert hashlib.sha256(download.data).hexdigest() == body.sha256.hexdigest()
