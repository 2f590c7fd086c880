"""GET /metrics: request counts and latency by route and status, queue depths, orders, outbox backlog."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.api.helpers import FULL_NOTIFICATION, ok, post
from tests.conftest import PREFIX
from tests.factories import ORG_RECIPIENT, initialize_request
from workers.celery_app import Queues

QUEUES = Queues(PREFIX).consumed

ROOT = Path(__file__).resolve().parents[2]


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.get_data(as_text=True))
        for s in family.samples
    }


def value(samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_requests_are_counted_and_timed_by_route_and_status(client, sender):
    before = scrape(client)
    route = "/correspondence/api/v1/correspondence/<uuid:correspondence_id>"
    key = dict(method="GET", route=route, status="404")
    for _ in range(3):  # three different paths, one route
        resp = client.get(f"/correspondence/api/v1/correspondence/{uuid.uuid4()}", headers=sender)
        assert resp.status_code == 404
    client.get("/no/such/path")
    after = scrape(client)
    counted = value(after, "correspondence_http_requests_total", **key)
    assert counted - (value(before, "correspondence_http_requests_total", **key) or 0) == 3
    assert value(after, "correspondence_http_request_duration_seconds_count", **key) == counted
    assert value(after, "correspondence_http_request_duration_seconds_sum", **key) > 0
    assert value(after, "correspondence_http_request_duration_seconds_bucket", **key, le="+Inf") == counted
    total = "correspondence_http_requests_total"
    assert value(after, total, method="GET", route="<unmatched>", status="404") >= 1
    assert value(after, total, method="GET", route="/metrics", status="200") >= 1


def test_queue_depth_is_the_length_of_each_redis_queue(client, redis_url):
    client_redis = redis.Redis.from_url(redis_url)
    marker = f"metrics-test-{uuid.uuid4().hex}"
    queue = QUEUES[-1]
    try:
        client_redis.rpush(queue, marker, marker)
        samples = scrape(client)
        for name in QUEUES:
            assert value(samples, "correspondence_queue_depth", queue=name) == client_redis.llen(name)
        assert value(samples, "correspondence_queue_depth", queue=queue) >= 2
        assert value(samples, "correspondence_dependency_up", dependency="broker") == 1
    finally:
        client_redis.lrem(queue, 0, marker)
        client_redis.close()


def test_orders_by_status_and_outbox_backlog_come_from_the_database(
    client, db, sender, without_session_relay
):
    # one correspondence whose orders no worker creates here (and no relay sends): the backlog has that row
    ok(post(client, initialize_request([ORG_RECIPIENT], notification=FULL_NOTIFICATION), sender))
    with db.transaction() as conn:
        orders = {
            r["status"]: r["n"]
            for r in conn.execute(
                "SELECT status, count(*) AS n FROM notification_orders GROUP BY status"
            ).fetchall()
        }
        backlog = conn.execute(
            """SELECT count(*) FILTER (WHERE past OR retry_at IS NOT NULL) AS undispatched,
                      count(*) FILTER (WHERE NOT past AND retry_at IS NULL) AS dispatched,
                      min(created) AS oldest
               FROM (SELECT (xid, correspondence_id) > (SELECT position_xid, position_uuid FROM work_cursors
                                                        WHERE name = 'notification_outbox') AS past,
                            retry_at, created FROM notification_outbox) o"""
        ).fetchone()
    before = datetime.now(UTC)
    samples = scrape(client)
    after = datetime.now(UTC)
    for status in ("Success", "MissingContact", "Failure"):
        assert value(samples, "correspondence_notification_orders", status=status) == orders.get(status, 0)
    assert value(samples, "correspondence_outbox_backlog", state="undispatched") == backlog["undispatched"]
    assert value(samples, "correspondence_outbox_backlog", state="dispatched") == backlog["dispatched"]
    # the age of the oldest incomplete row, as seen by a clock read during the scrape
    age = value(samples, "correspondence_outbox_oldest_age_seconds")
    assert (before - backlog["oldest"]).total_seconds() <= age <= (after - backlog["oldest"]).total_seconds()
    assert value(samples, "correspondence_dependency_up", dependency="database") == 1


def test_a_broker_that_does_not_answer_is_reported_not_raised(settings, db):
    from dataclasses import replace

    from app.web import create_app

    app = create_app(replace(settings, redis_url="redis://127.0.0.1:1/0"))
    samples = scrape(app.test_client())
    assert value(samples, "correspondence_dependency_up", dependency="broker") == 0
    assert value(samples, "correspondence_dependency_up", dependency="database") == 1
    assert not any(name == "correspondence_queue_depth" for name, _ in samples)


def test_multiprocess_mode_sums_the_requests_of_all_processes(tmp_path, database_url, redis_url, data_dir):
    """gunicorn workers are separate processes: with PROMETHEUS_MULTIPROC_DIR each writes its own
    file and /metrics adds them up."""
    script = (
        "from app.web import create_app\n"
        "client = create_app().test_client()\n"
        "for _ in range(2):\n    assert client.get('/health/live').status_code == 200\n"
        "if __import__('sys').argv[1:] == ['scrape']:\n"
        "    print(client.get('/metrics').get_data(as_text=True))\n"
    )
    env = dict(
        os.environ,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CORRESPONDENCE_DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
    )
    for args in ([], ["scrape"]):  # two processes; the second scrapes
        out = subprocess.run(
            [sys.executable, "-c", script, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
    assert list(tmp_path.glob("counter_*.db")) and list(tmp_path.glob("histogram_*.db"))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(out.stdout)
        for s in family.samples
    }
    live = value(
        samples, "correspondence_http_requests_total", method="GET", route="/health/live", status="200"
    )
    assert live == 4
    assert value(samples, "correspondence_queue_depth", queue=QUEUES[0]) is not None


def test_unknown_methods_are_one_label_not_a_series_each(client):
    """gunicorn passes any uppercase method of 3-20 characters; each must not become a series."""
    for method in ("FOOBAR", "XYZZYPLUGH", "PROPFIND"):
        assert client.open("/health/live", method=method).status_code == 405
    samples = scrape(client)
    methods = {
        dict(labels).get("method") for name, labels in samples if name.startswith("correspondence_http")
    }
    assert not methods & {"FOOBAR", "XYZZYPLUGH", "PROPFIND"}, methods
    other = sum(
        v
        for (name, labels), v in samples.items()
        if name == "correspondence_http_requests_total" and dict(labels)["method"] == "OTHER"
    )
    assert other >= 3


def _app(settings, **changes):
    from dataclasses import replace

    from app.web import create_app

    return create_app(replace(settings, **changes))


def test_metrics_token_is_required_when_set(settings):
    client = _app(settings, metrics_token="s3cret-token").test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}):
        resp = client.get("/metrics", headers=headers)
        assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert b"correspondence_http_requests_total" not in resp.data
    resp = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert resp.status_code == 200 and b"correspondence_http_requests_total" in resp.data


def test_in_production_metrics_are_off_without_a_token(settings, tokens):
    from cryptography.hazmat.primitives import serialization

    pem = (
        tokens.key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    production = dict(environment="production", dev_keys=False, public_keys=[pem])
    resp = _app(settings, **production).test_client().get("/metrics")
    assert resp.status_code == 404 and "METRICS_TOKEN" in resp.get_json()["detail"]
    client = _app(settings, **production, metrics_token="t").test_client()
    assert client.get("/metrics", headers={"Authorization": "Bearer t"}).status_code == 200


def test_database_and_broker_figures_are_read_once_per_cache_period(settings, monkeypatch):
    from app.api import metrics as metrics_api
    from workers.broker import Broker

    calls = {"database": 0, "broker": 0}
    orders_by_status, queue_depths = metrics_api.metrics_repo.orders_by_status, Broker.queue_depths

    def counted_orders(conn):
        calls["database"] += 1
        return orders_by_status(conn)

    def counted_depths(self, queues):
        calls["broker"] += 1
        return queue_depths(self, queues)

    monkeypatch.setattr(metrics_api.metrics_repo, "orders_by_status", counted_orders)
    monkeypatch.setattr(Broker, "queue_depths", counted_depths)
    client = _app(settings, metrics_cache_seconds=30).test_client()
    for _ in range(3):
        samples = scrape(client)
        assert value(samples, "correspondence_dependency_up", dependency="database") == 1
    assert calls == {"database": 1, "broker": 1}
