"""Per-sender token bucket in Redis: 429 problem details with Retry-After; off unless configured."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from app.api.rate_limit import EXTENSION, TokenBucketLimiter
from tests.api.helpers import ok, post
from tests.conftest import OTHER_ORG, SENDER_ORG
from tests.factories import ORG_RECIPIENT, initialize_request


@pytest.fixture()
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture()
def limited_app(settings, monkeypatch, redis_client):
    """The app with 1 request per second per sender and a burst of 2, on the test Redis."""
    from app.web import create_app

    prefix = f"ratelimit-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", "1")
    monkeypatch.setenv("RATE_LIMIT_BURST", "2")
    monkeypatch.setenv("CORRESPONDENCE_QUEUE_PREFIX", prefix)
    app = create_app(settings)
    yield app
    for key in redis_client.scan_iter(f"{prefix}.ratelimit:*"):
        redis_client.delete(key)


def test_off_when_not_configured(app, client, sender):
    assert app.extensions[EXTENSION] is None
    for _ in range(5):
        ok(post(client, initialize_request([ORG_RECIPIENT]), sender))


def test_burst_then_429_with_retry_after_then_refilled(limited_app, tokens):
    client = limited_app.test_client()
    sender = tokens.headers(org=SENDER_ORG)
    body = initialize_request([ORG_RECIPIENT])
    ok(post(client, body, sender))
    ok(post(client, body, sender))
    refused = post(client, body, sender)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["status"] == 429 and problem["title"] == "Too Many Requests" and problem["traceId"]
    assert SENDER_ORG in problem["detail"]

    # Another sender has a bucket of its own (its request fails later, on resource ownership).
    other = post(client, body, tokens.headers(org=OTHER_ORG))
    assert other.status_code != 429

    time.sleep(1.05)  # one token back
    ok(post(client, body, sender))
    assert post(client, body, sender).status_code == 429


def test_unauthenticated_requests_are_refused_before_the_limit(limited_app):
    resp = post(limited_app.test_client(), initialize_request([ORG_RECIPIENT]), {})
    assert resp.status_code == 401


def test_token_bucket_script(redis_client):
    limiter = TokenBucketLimiter(redis_client, rate=10, burst=5, prefix=f"bucket-test-{uuid.uuid4().hex[:8]}")
    try:
        decisions = [limiter.take("s") for _ in range(6)]
        assert [d.allowed for d in decisions] == [True] * 5 + [False]
        assert 0 < decisions[-1].retry_after <= 0.1 + 1e-6
        assert limiter.take("someone-else").allowed
        ttl = redis_client.pttl(f"{limiter.prefix}:s")
        assert 0 < ttl <= 1500  # the bucket expires once it would be full again
        time.sleep(0.25)  # ~2.5 tokens back
        assert [limiter.take("s").allowed for _ in range(3)] == [True, True, False]
    finally:
        redis_client.delete(f"{limiter.prefix}:s", f"{limiter.prefix}:someone-else")


def test_redis_down_lets_requests_through(settings, monkeypatch, tokens):
    from dataclasses import replace

    from app.web import create_app

    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", "1")
    monkeypatch.setenv("RATE_LIMIT_BURST", "1")
    app = create_app(replace(settings, redis_url="redis://127.0.0.1:1/0"))
    assert app.extensions[EXTENSION] is not None
    client = app.test_client()
    for _ in range(3):  # the limiter's Redis is unreachable: fail open
        ok(post(client, initialize_request([ORG_RECIPIENT]), tokens.headers()))


def test_429_is_documented_on_initialize(client):
    spec = client.get("/openapi.json").get_json()
    responses = spec["paths"]["/correspondence/api/v1/correspondence"]["post"]["responses"]
    assert "429" in responses and "Retry-After" in responses["429"]["headers"]


def test_multipart_initialize_shares_the_senders_bucket(limited_app, tokens):
    from tests.attachments.helpers import entry, form_fields, post_multipart

    client = limited_app.test_client()
    sender = tokens.headers(org=SENDER_ORG)
    ok(post(client, initialize_request([ORG_RECIPIENT]), sender))
    ok(post(client, initialize_request([ORG_RECIPIENT]), sender))
    refused = post_multipart(
        client, sender, form_fields([ORG_RECIPIENT], [entry("a.txt")]), [("a.txt", b"x")]
    )
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"


@pytest.fixture()
def one_token_app(settings, monkeypatch, redis_client):
    """One request per caller and then (practically) none: a second write is 429 whatever it is."""
    from app.web import create_app

    prefix = f"ratelimit-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", "0.001")
    monkeypatch.setenv("RATE_LIMIT_BURST", "1")
    monkeypatch.setenv("CORRESPONDENCE_QUEUE_PREFIX", prefix)
    app = create_app(settings)

    def reset() -> None:
        for key in redis_client.scan_iter(f"{prefix}.ratelimit:*"):
            redis_client.delete(key)

    app.reset_buckets = reset  # type: ignore[attr-defined]
    yield app
    reset()


def test_every_write_operation_takes_from_the_callers_bucket(one_token_app, tokens):
    """Not only Initialize: attachment initialize, upload and purge, multipart Initialize, the
    recipient's actions, subscriptions (issue 24, finding 5)."""
    import io

    from tests.attachments.helpers import form_fields

    client = one_token_app.test_client()
    sender = tokens.headers(org=SENDER_ORG)
    recipient = tokens.headers(org=None, pid="01019010046", scopes=("altinn:correspondence.read",))
    some = uuid.uuid4()
    base = "/correspondence/api/v1"
    attachment = {"resourceId": "test-service", "fileName": "a.txt", "sendersReference": "a"}
    upload = {"data": b"x", "content_type": "application/octet-stream"}

    def form() -> dict:  # a new file each time: the test client reads it
        return {**dict(form_fields()), "attachments": (io.BytesIO(b"x"), "a.txt")}

    subscription = {
        "endPoint": "https://example.com/hook",
        "resourceFilter": "urn:altinn:resource:test-service",
    }
    writes = [
        (sender, "POST", f"{base}/correspondence", {"json": initialize_request([ORG_RECIPIENT])}),
        (
            sender,
            "POST",
            f"{base}/correspondence/upload",
            {"data": form, "content_type": "multipart/form-data"},
        ),
        (sender, "POST", f"{base}/attachment", {"json": attachment}),
        (sender, "POST", f"{base}/attachment/{some}/upload", upload),
        (sender, "DELETE", f"{base}/attachment/{some}", {}),
        (sender, "POST", "/events/api/v1/subscriptions", {"json": subscription}),
        (sender, "DELETE", "/events/api/v1/subscriptions/1", {}),
        (sender, "DELETE", f"{base}/correspondence/{some}/purge", {}),
        (recipient, "POST", f"{base}/correspondence/{some}/markasread", {}),
        (recipient, "POST", f"{base}/correspondence/{some}/confirm", {}),
        (recipient, "POST", f"{base}/correspondence/{some}/forward", {"json": {}}),
    ]
    for headers, method, path, kwargs in writes:
        one_token_app.reset_buckets()
        fresh = {k: v() if callable(v) else v for k, v in kwargs.items()}
        first = client.open(path, method=method, headers=headers, **fresh)
        assert first.status_code != 429, (method, path)
        fresh = {k: v() if callable(v) else v for k, v in kwargs.items()}
        second = client.open(path, method=method, headers=headers, **fresh)
        assert second.status_code == 429, (method, path, second.status_code, second.get_json())
        assert second.headers["Retry-After"]
    one_token_app.reset_buckets()
    for _ in range(3):  # reads are not limited
        assert client.get(f"{base}/attachment/{some}", headers=sender).status_code != 429


def test_search_offset_has_an_upper_bound(client, sender):
    from app.domain.limits import MAX_SEARCH_OFFSET

    query = {"resourceId": "test-service", "role": "Sender"}
    url = "/correspondence/api/v1/correspondence"
    ok(client.get(url, query_string={**query, "offset": MAX_SEARCH_OFFSET}, headers=sender))
    resp = client.get(url, query_string={**query, "offset": MAX_SEARCH_OFFSET + 1}, headers=sender)
    problem = resp.get_json()
    assert resp.status_code == 400 and "offset" in str(problem["errors"]).lower(), problem
