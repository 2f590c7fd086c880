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
