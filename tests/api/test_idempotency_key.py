"""Replayable retries: the `Idempotency-Key` request header on Initialize (JSON and multipart)."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.idempotency import (
    IN_FLIGHT,
    MISMATCH,
    PROCEED,
    REPLAY,
    InvalidKey,
    StoredKey,
    decide,
    parse_key,
)
from tests.api.helpers import assert_error, count_all_tables, ok, org_urn, post
from tests.conftest import OTHER_ORG
from tests.factories import ORG_RECIPIENT, initialize_request

URL = "/correspondence/api/v1/correspondence"


def send(client, body: dict, headers: dict, key: str | None):
    return post(client, body, {**headers, **({"Idempotency-Key": key} if key is not None else {})})


def test_a_repeat_answers_the_first_result_and_stores_nothing(client, sender, db):
    key = f'"{uuid.uuid4()}"'
    body = initialize_request([org_urn(740000000 + i) for i in range(3)])  # several recipients work too
    first = send(client, body, sender, key)
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    before = count_all_tables(db)
    again = send(client, body, sender, key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count_all_tables(db) == before


def test_the_same_key_with_another_body_is_422(client, sender, db):
    key = str(uuid.uuid4())
    ok(send(client, initialize_request([ORG_RECIPIENT]), sender, key))
    before = count_all_tables(db)
    other = initialize_request([ORG_RECIPIENT], sendersReference="another")
    resp = send(client, other, sender, key)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert count_all_tables(db) == before


def test_a_repeat_while_the_first_is_in_flight_is_409(app, sender, db):
    """The first request holds its key while it waits for a lock the test holds."""
    key = str(uuid.uuid4())
    body = initialize_request([org_urn(741000000)])
    first: dict = {}
    with db.transaction() as conn:
        conn.execute("LOCK TABLE correspondences IN SHARE MODE")  # the first request's INSERT waits
        thread = threading.Thread(
            target=lambda: first.update(resp=send(app.test_client(), body, sender, key))
        )
        thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with db.transaction() as probe:
                if probe.execute("SELECT 1 FROM request_idempotency WHERE key = %s", (key,)).fetchone():
                    break
            time.sleep(0.02)
        assert_conflict = send(app.test_client(), body, sender, key)
        assert assert_conflict.status_code == 409
    thread.join(30)
    assert first["resp"].status_code == 200
    assert send(app.test_client(), body, sender, key).headers["Idempotent-Replayed"] == "true"


def test_a_failed_request_releases_its_key(client, sender):
    key = str(uuid.uuid4())
    bad = initialize_request([ORG_RECIPIENT], resourceId="no-such-resource")
    assert_error(send(client, bad, sender, key), 400, 1036)
    good = initialize_request([ORG_RECIPIENT])
    assert send(client, good, sender, key).status_code == 200  # the key was free again


def test_keys_belong_to_their_sender(client, sender, tokens, db):
    key = str(uuid.uuid4())
    body = initialize_request([ORG_RECIPIENT])
    ok(send(client, body, sender, key))
    other_sender = tokens.headers(org=OTHER_ORG)
    other_body = initialize_request([ORG_RECIPIENT], resourceId="other-owner-service")
    resp = send(client, other_body, other_sender, key)
    assert resp.status_code == 200 and "Idempotent-Replayed" not in resp.headers  # its own first request


def test_an_unusable_key_is_a_validation_problem(client, sender):
    for bad in ("", '""', "x" * 256, "nøkkel"):
        resp = send(client, initialize_request(), sender, bad)
        assert resp.status_code == 400 and "Idempotency-Key" in json.dumps(resp.get_json())


def test_multipart_initialize_replays_too(client, sender, db):
    key = str(uuid.uuid4())
    form = {
        "correspondence.resourceId": "test-service",
        "correspondence.sendersReference": "m-1",
        "correspondence.content.language": "nb",
        "correspondence.content.messageTitle": "Tittel",
        "correspondence.content.messageBody": "Tekst",
        "recipients": ORG_RECIPIENT,
        "correspondence.content.attachments[0].fileName": "a.txt",
        "correspondence.content.attachments[0].sendersReference": "a",
    }

    def upload(data: bytes):
        return client.post(
            f"{URL}/upload",
            headers={**sender, "Idempotency-Key": key},
            data={**form, "attachments": (io.BytesIO(data), "a.txt")},
            content_type="multipart/form-data",
        )

    first = upload(b"hello")
    assert first.status_code == 200, first.get_json()
    before = count_all_tables(db)
    again = upload(b"hello")
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == first.get_json()
    assert count_all_tables(db) == before
    assert upload(b"other bytes").status_code == 422


def test_forgotten_keys_are_removed_by_the_retention_job(client, sender, db):
    from app.usecases.replayable_requests import forget_expired

    key = str(uuid.uuid4())
    ok(send(client, initialize_request([ORG_RECIPIENT]), sender, key))
    with db.transaction() as conn:
        conn.execute(
            "UPDATE request_idempotency SET started = now() - interval '25 hours' WHERE key = %s", (key,)
        )
    assert forget_expired(db, timedelta(hours=24)) >= 1
    with db.transaction() as conn:
        assert conn.execute("SELECT 1 FROM request_idempotency WHERE key = %s", (key,)).fetchone() is None


# ---- the pure rules -------------------------------------------------------------------------

T0 = datetime(2030, 1, 1, tzinfo=UTC)
DAY = timedelta(hours=24)


@pytest.mark.parametrize(
    "stored, fingerprint, now, expected",
    [
        (StoredKey(b"a", T0, T0), b"a", T0 + timedelta(minutes=1), REPLAY),
        (StoredKey(b"a", T0, T0), b"b", T0 + timedelta(minutes=1), MISMATCH),
        (StoredKey(b"a", T0, None), b"a", T0 + timedelta(minutes=1), IN_FLIGHT),
        (StoredKey(b"a", T0, None), b"b", T0 + timedelta(minutes=1), MISMATCH),
        (StoredKey(b"a", T0, None), b"a", T0 + timedelta(minutes=11), PROCEED),  # died in flight
        (StoredKey(b"a", T0, T0), b"b", T0 + DAY + timedelta(seconds=1), PROCEED),  # forgotten
        # A long upload renews its lease: 11 minutes after it started it is still in flight.
        (StoredKey(b"a", T0, None, T0 + timedelta(minutes=15)), b"a", T0 + timedelta(minutes=11), IN_FLIGHT),
        (StoredKey(b"a", T0, None, T0 + timedelta(minutes=15)), b"a", T0 + timedelta(minutes=16), PROCEED),
    ],
)
def test_decide(stored, fingerprint, now, expected):
    assert decide(stored, fingerprint, now, DAY) == expected


def test_parse_key():
    assert parse_key(' "abc" ') == "abc"
    assert parse_key("abc-123") == "abc-123"
    assert parse_key('"a\\"b"') == 'a"b'
    for bad in ("", '""', "x" * 256, "nøkkel", "tab\there"):
        with pytest.raises(InvalidKey):
            parse_key(bad)


class _ScriptedConnection:
    """Answers each execute() with the next scripted row (None: no row)."""

    def __init__(self, rows: list) -> None:
        self.rows = rows
        self.statements: list[str] = []

    def execute(self, sql: str, params: tuple):
        self.statements.append(sql.split()[0])
        row = self.rows.pop(0)
        return type("Cursor", (), {"fetchone": lambda _self: row})()


def test_a_key_released_between_the_insert_and_the_lock_is_claimed_again():
    from app.db.repositories.idempotent_requests import claim

    # INSERT meets the other request's row; that request fails and releases it before the SELECT.
    conn = _ScriptedConnection([None, None, (1,)])
    owner, lease = uuid.uuid4(), timedelta(minutes=10)
    assert claim(conn, "urn:altinn:organization:identifier-no:991825827", "k", b"f", owner, lease) is None
    assert conn.statements == ["INSERT", "SELECT", "INSERT"]


# ---- a long multipart upload keeps its key (issue 24, finding 3) ------------------------------


class _GatedBody:
    """A multipart body that stops (blocks in read) once `gate_at` bytes were read, until `go` is set."""

    def __init__(self, body, gate_at: int) -> None:
        self.body, self.gate_at = body, gate_at
        self.waiting, self.go = threading.Event(), threading.Event()
        self.total = body.total

    def tell(self) -> int:
        return self.body.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.body.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        if self.body.position >= self.gate_at and not self.go.is_set():
            self.waiting.set()
            assert self.go.wait(30)
        return self.body.read(size)


def _long_upload(app, sender, key: str, reference: str, gate_at: int | None):
    from tests.attachments.bodies import CONTENT_TYPE, MiB, upload_body
    from tests.attachments.helpers import UPLOAD_URL, entry, form_fields

    fields = [
        (name, reference if name == "correspondence.sendersReference" else value)
        for name, value in form_fields(attachments=[entry("stor.txt")])
    ]
    body = upload_body(4 * MiB, fields=fields)
    if gate_at is not None:
        body = _GatedBody(body, gate_at)

    def send():
        return app.test_client().post(
            UPLOAD_URL,
            input_stream=body,
            content_length=body.total,
            content_type=CONTENT_TYPE,
            headers={**sender, "Idempotency-Key": key},
        )

    return body, send


def _stored_with(db, reference: str) -> int:
    with db.transaction() as conn:
        return conn.execute(
            "SELECT count(*) AS n FROM correspondences c JOIN initializations i ON i.id = c.initialization_id "
            "WHERE i.senders_reference = %s",
            (reference,),
        ).fetchone()["n"]


def test_a_multipart_upload_longer_than_the_lease_keeps_its_key(app, sender, db, monkeypatch):
    from app.usecases import replayable_requests

    monkeypatch.setattr(replayable_requests, "KEY_LEASE_RENEW_EVERY", timedelta(0))  # renew at every chunk
    key, reference = str(uuid.uuid4()), f"long-{uuid.uuid4().hex[:8]}"
    body, send = _long_upload(app, sender, key, reference, gate_at=2 * 1024 * 1024)
    first: dict = {}
    thread = threading.Thread(target=lambda: first.update(resp=send()))
    thread.start()
    try:
        assert body.waiting.wait(30)  # half of the file is in, the request is still being processed
        with db.transaction() as conn:  # it has been running for 11 minutes, renewing its lease
            conn.execute(
                "UPDATE request_idempotency SET started = now() - interval '11 minutes' WHERE key = %s",
                (key,),
            )
        _, retry = _long_upload(app, sender, key, reference, gate_at=None)
        assert retry().status_code == 409  # still in flight: not taken over
    finally:
        body.go.set()
        thread.join(60)
    assert first["resp"].status_code == 200, first["resp"].get_json()
    assert _stored_with(db, reference) == 1
    _, again = _long_upload(app, sender, key, reference, gate_at=None)
    assert again().headers.get("Idempotent-Replayed") == "true"
    assert _stored_with(db, reference) == 1


def test_a_request_whose_key_was_taken_over_stores_nothing(app, sender, db, monkeypatch):
    from app.usecases import replayable_requests
    from tests.attachments.helpers import leftovers

    monkeypatch.setattr(replayable_requests, "KEY_LEASE_RENEW_EVERY", timedelta(0))
    key, reference = str(uuid.uuid4()), f"lost-{uuid.uuid4().hex[:8]}"
    body, send = _long_upload(app, sender, key, reference, gate_at=2 * 1024 * 1024)
    first: dict = {}
    thread = threading.Thread(target=lambda: first.update(resp=send()))
    thread.start()
    try:
        assert body.waiting.wait(30)
        with db.transaction() as conn:  # it stalled past its lease: a retry may take the key over
            conn.execute(
                "UPDATE request_idempotency SET lease_until = now() - interval '1 second' WHERE key = %s",
                (key,),
            )
        _, retry = _long_upload(app, sender, key, reference, gate_at=None)
        assert retry().status_code == 200
    finally:
        body.go.set()
        thread.join(60)
    lost = first["resp"]
    assert lost.status_code == 409 and "took it over" in lost.get_json()["detail"], lost.get_json()
    assert _stored_with(db, reference) == 1  # stored once, by the retry
    assert leftovers(app) == []
