"""Prometheus metrics at GET /metrics.

- `correspondence_http_requests_total` and `correspondence_http_request_duration_seconds` by method,
  route (the URL rule, not the path: bounded label values) and status, recorded by the request hooks
  of app/api/observability.py;
- at scrape time: depth of each consumed broker queue (Redis or RabbitMQ), notification orders
  by status and the outbox backlog (SQL in app/db/repositories/metrics.py), and whether the database
  and the broker answered.

With several gunicorn worker processes set PROMETHEUS_MULTIPROC_DIR to an empty folder writable by
all of them (wiped at each start): the request metrics are then summed over the processes
(prometheus_client multiprocess mode). Without it, each process reports its own requests only.

Bounded and closed: the `method` label is one of the HTTP methods the API knows, else `OTHER`
(gunicorn accepts any uppercase token as a method; each new one would be a new series in every
worker's files); with METRICS_TOKEN set the page needs `Authorization: Bearer <token>`, and in
production it is off without one; the database and broker figures are read at most once per
METRICS_CACHE_SECONDS per process, however often it is scraped.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from app.api.events import EventsCollector
from app.api.problems import problem
from app.db.repositories import metrics as metrics_repo
from workers.broker import Broker, BrokerUnavailable
from workers.celery_app import Queues

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "correspondence_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "correspondence_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

blp = Blueprint("metrics", __name__)

# The `method` label: these, else OTHER.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "OTHER"


# The labelled series each request updates, found once per (method, route, status): `labels()`
# costs more than the update itself. Bounded as the labels are (methods, URL rules, statuses).
_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe(method: str, route: str, status: int, seconds: float) -> None:
    key = (method_label(method), route, status)
    series = _series.get(key)
    if series is None:
        labels = (key[0], route, str(status))
        series = _series[key] = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
    series[0].inc()
    series[1].observe(seconds)


class StateCollector:
    """Queue depths, orders and outbox backlog, read when Prometheus scrapes."""

    def __init__(self, services) -> None:  # app.web.Services
        self.services = services

    def collect(self) -> Iterator[Metric]:
        depths = self._queue_depths()
        database = self._database_state()
        up = GaugeMetricFamily(
            "correspondence_dependency_up",
            "1 when the dependency answered this scrape",
            labels=["dependency"],
        )
        up.add_metric(["broker"], 1.0 if depths is not None else 0.0)
        up.add_metric(["database"], 1.0 if database is not None else 0.0)
        yield up
        if depths is not None:
            depth = GaugeMetricFamily(
                "correspondence_queue_depth", "Messages waiting in a Redis queue (LLEN)", labels=["queue"]
            )
            for queue, n in depths.items():
                depth.add_metric([queue], n)
            yield depth
        if database is not None:
            orders, backlog = database
            by_status = GaugeMetricFamily(
                "correspondence_notification_orders", "Notification orders by status", labels=["status"]
            )
            for status in ("Success", "MissingContact", "Failure"):
                by_status.add_metric([status], orders.get(status, 0))
            yield by_status
            outbox = GaugeMetricFamily(
                "correspondence_outbox_backlog",
                "Outbox rows whose orders are not all recorded yet",
                labels=["state"],
            )
            outbox.add_metric(["undispatched"], backlog["undispatched"])
            outbox.add_metric(["dispatched"], backlog["dispatched"])
            yield outbox
            oldest = backlog["oldest"]
            age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
            yield GaugeMetricFamily(
                "correspondence_outbox_oldest_age_seconds",
                "Age of the oldest incomplete outbox row (0 when none)",
                value=max(age, 0.0),
            )
        deliveries = self._deliveries()
        if deliveries is not None:
            yield deliveries

    def _deliveries(self) -> GaugeMetricFamily | None:
        """E-mails (and SMS) by status and reason: Succeeded, Failed by SMTP reply code or
        `unsupported`/`gave-up`/`no-content`, and the ones still New or Sending."""
        try:
            with self.services.db.transaction() as conn:
                rows = metrics_repo.deliveries(conn)
        except Exception as exc:  # noqa: BLE001 - a scrape reports the outage, it does not fail
            log.warning("metrics: database query failed: %s", exc)
            return None
        family = GaugeMetricFamily(
            "correspondence_notification_deliveries",
            "Notification addresses by channel, delivery status and failure reason",
            labels=["channel", "status", "reason"],
        )
        for row in rows:
            family.add_metric([row["channel"], row["status"], row["reason"]], int(row["n"]))
        return family

    def _queue_depths(self) -> dict[str, int] | None:
        url = self.services.settings.broker_url
        if not url:
            return None
        try:
            return Broker(url).queue_depths(Queues(self.services.settings.broker.queue_prefix).consumed)
        except BrokerUnavailable as exc:
            log.warning("metrics: broker unavailable: %s", exc)
            return None

    def _database_state(self) -> tuple[dict[str, int], dict] | None:
        try:
            with self.services.db.transaction() as conn:
                return metrics_repo.orders_by_status(conn), metrics_repo.outbox_backlog(conn)
        except Exception as exc:  # noqa: BLE001 - a scrape reports the outage, it does not fail
            log.warning("metrics: database query failed: %s", exc)
            return None


class StateCache:
    """The part of the page read from the database and the broker, kept for `seconds` (0: none):
    concurrent scrapes of one process wait for one reading."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._body = b""
        self._until = 0.0

    def get(self, produce: Callable[[], bytes]) -> bytes:
        if self.seconds <= 0:
            return produce()
        with self._lock:
            now = time.monotonic()
            if now >= self._until:
                self._body = produce()
                self._until = time.monotonic() + self.seconds
            return self._body


def _refusal(settings) -> Response | None:  # app.config.Settings
    """401 without the right bearer token when METRICS_TOKEN is set; 404 in production without one."""
    token = settings.metrics_token
    if token is None:
        if settings.is_production:
            return problem(
                404,
                "/metrics is off in production unless METRICS_TOKEN is set (docs/operating.md, Operations).",
            )
        return None
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    return problem(
        401,
        "/metrics needs Authorization: Bearer <METRICS_TOKEN>.",
        headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
    )


@blp.route("/metrics", methods=["GET"])
def metrics() -> Response:
    started = time.perf_counter()
    services = current_app.extensions["correspondence"]
    refused = _refusal(services.settings)
    if refused is not None:
        return refused
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    cache = current_app.extensions.get("metrics_state_cache")
    if cache is None:
        cache = current_app.extensions["metrics_state_cache"] = StateCache(
            services.settings.metrics_cache_seconds
        )
    body += cache.get(lambda: _state(services))
    body += (
        b"# HELP correspondence_metrics_scrape_seconds Time spent producing this page\n"
        b"# TYPE correspondence_metrics_scrape_seconds gauge\n"
        + f"correspondence_metrics_scrape_seconds {time.perf_counter() - started:.6f}\n".encode()
    )
    return Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)


def _state(services) -> bytes:  # app.web.Services
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector(services))
    state.register(EventsCollector(services))
    return generate_latest(state)
