"""Events delivered per second to a local receiver (issue 13).

    .venv/bin/python bench/events_delivery.py [--recipients 5000] [--subscriptions 1] [--drip 100]

Initializes `recipients` correspondences (500 per request: one outbox row each), subscribes a
loopback receiver (ThreadingHTTPServer that verifies every signature and answers 200), then times
the fan-out (outbox rows → one delivery per CloudEvent) and the delivery rounds of the task's code
(app.usecases.deliver_events.deliver_all with workers.gateways.webhooks.post_event, 16 posts at
once, EVENTS_MAX_IN_FLIGHT_PER_ENDPOINT per subscription) in this process. Writes bench/results/events_delivery.json.

`--drip N` adds N active subscriptions whose endpoint answers one byte every 5 s (a slow subscriber
at its worst): deliveries/s to the healthy receiver are then measured beside them, and so is the
time a correspondence due 5 s ahead takes to be published by a scan running meanwhile (one a second,
as beat's); writes bench/results/events_delivery_drip.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import admin_database_url, drop_database, scratch_database

from app.db.pool import Database
from app.db.repositories import events as events_repo
from app.db.repositories.registry import upsert_resources
from app.domain.events import new_secret, verify
from app.domain.registry import Resource
from app.events_settings import load_event_settings
from app.schemas.initialize import InitializeCorrespondencesRequestSchema
from app.security.identity import Caller
from app.usecases.deliver_events import deliver_all, fan_out_all
from app.usecases.initialize_correspondences import initialize_correspondences
from workers.gateways.webhooks import post_event

SENDER = "991825827"


class Receiver:
    def __init__(self, secret: str) -> None:
        self.ok = 0
        self.bad = 0
        self.expected = 0
        self.reached_at: float | None = None
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                good = verify(secret, {k.lower(): v for k, v in self.headers.items()}, body)
                with lock:
                    if good:
                        owner.ok += 1
                        if owner.ok == owner.expected:
                            owner.reached_at = time.perf_counter()
                    else:
                        owner.bad += 1
                self.send_response(200 if good else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.request_queue_size = 256
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def subscribe(db: Database, end_point: str, secret: str, count: int) -> None:
    """`count` active subscriptions of the sender to bench-service at `end_point`."""
    with db.transaction() as conn:
        for _ in range(count):
            sid = events_repo.create_subscription(
                conn,
                end_point=end_point,
                resource_filter="urn:altinn:resource:bench-service",
                type_filter=None,
                subject_filter=None,
                consumer="urn:altinn:organization:identifier-no:" + SENDER,
                created_by="sender",
                secret=secret,
            )
            conn.execute("UPDATE event_subscriptions SET status = 'active' WHERE id = %s", (sid,))


class DripServer:
    """Accepts every connection, then answers one byte every `every` seconds."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                time.sleep(self.every)
                conn.sendall(bytes([byte]))


class Publication:
    """A correspondence due 5 s ahead, and a publish scan once a second (as beat's) in a thread."""

    def __init__(self, db: Database, caller: Caller) -> None:
        from datetime import UTC, datetime, timedelta

        self.db = db
        raw = {
            "correspondence": {
                "resourceId": "bench-service",
                "sendersReference": "bench-publish",
                "requestedPublishTime": (datetime.now(UTC) + timedelta(seconds=5)).isoformat(),
                "content": {"language": "nb", "messageTitle": "Bench", "messageBody": "Hei"},
            },
            "recipients": ["urn:altinn:organization:identifier-no:313721779"],
        }
        self.started = time.perf_counter()
        initialize_correspondences(db, caller, InitializeCorrespondencesRequestSchema().load(raw))
        self.published_after: float | None = None
        threading.Thread(target=self._scan, daemon=True).start()

    def _scan(self) -> None:
        from app.usecases.publish_correspondences import publish_due

        while self.published_after is None and time.perf_counter() - self.started < 120:
            if publish_due(self.db).published:
                self.published_after = round(time.perf_counter() - self.started, 2)
            time.sleep(1.0)

    def wait(self) -> float | None:
        while self.published_after is None and time.perf_counter() - self.started < 120:
            time.sleep(0.1)
        return self.published_after


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--subscriptions", type=int, default=1)
    parser.add_argument("--drip", type=int, default=0, help="slow-drip subscriptions beside the healthy one")
    args = parser.parse_args()
    os.environ["EVENTS_ALLOW_PRIVATE_ENDPOINTS"] = "true"
    admin = admin_database_url()
    url, name = scratch_database(admin)
    try:
        db = Database(url, 20)
        with db.transaction() as conn:
            upsert_resources(
                conn,
                [
                    Resource(
                        "bench-service", SENDER, "digdir", "Digdir", "CorrespondenceService", {"nb": "Bench"}
                    )
                ],
            )
        secret = new_secret()
        receiver = Receiver(secret)
        drip = DripServer(5.0) if args.drip else None
        subscribe(db, receiver.url, secret, args.subscriptions)
        if drip:
            subscribe(db, drip.url, secret, args.drip)
        caller = Caller(frozenset({"altinn:correspondence.write"}), SENDER, None, None)
        schema = InitializeCorrespondencesRequestSchema()
        for start in range(0, args.recipients, 500):
            raw = {
                "correspondence": {
                    "resourceId": "bench-service",
                    "sendersReference": "bench",
                    "content": {"language": "nb", "messageTitle": "Bench", "messageBody": "Hei"},
                    # Not published while the bench runs: only its correspondenceinitialized events count.
                    "requestedPublishTime": "2099-01-01T00:00:00+00:00",
                },
                "recipients": [
                    f"urn:altinn:organization:identifier-no:{800000000 + i:09d}"
                    for i in range(start, min(start + 500, args.recipients))
                ],
            }
            initialize_correspondences(db, caller, schema.load(raw))
        with db.transaction() as conn:
            outbox_rows = conn.execute("SELECT count(*) AS n FROM correspondence_events").fetchone()["n"]
        settings = replace(load_event_settings(), allow_private_endpoints=True)
        started = time.perf_counter()
        fan_out_all(db, settings)
        fanned = time.perf_counter() - started
        expected = args.recipients * args.subscriptions
        receiver.expected = expected
        publication = Publication(db, caller) if args.drip else None
        started = time.perf_counter()
        while receiver.ok < expected and time.perf_counter() - started < 300:
            deliver_all(db, post_event, settings, budget_seconds=10)
            if os.environ.get("BENCH_TRACE"):
                with db.transaction() as conn:
                    failing = conn.execute(
                        "SELECT count(*) FILTER (WHERE failures > 0) AS f, count(*) AS n FROM event_subscriptions"
                    ).fetchone()
                print(
                    f"{time.perf_counter() - started:6.1f} s: ok {receiver.ok}, failing {failing}", flush=True
                )
        delivered = (receiver.reached_at or time.perf_counter()) - started
        published_after = publication.wait() if publication else None
        result = {
            "bench": "events_delivery",
            "recipients": args.recipients,
            "subscriptions": args.subscriptions,
            "outbox_rows": outbox_rows,
            "events": expected,
            "received_ok": receiver.ok,
            "bad_signatures": receiver.bad,
            "fan_out_seconds": round(fanned, 3),
            "delivery_seconds": round(delivered, 3),
            "events_delivered_per_second": round(receiver.ok / delivered, 1),
            "concurrency": settings.concurrency,
            "per_endpoint": settings.per_endpoint,
            "batch": settings.batch,
            "cpus": os.cpu_count(),
        }
        if args.drip:
            result["drip_subscriptions"] = args.drip
            result["drip_connections"] = drip.connections if drip else 0
            result["published_seconds_after_initialize_due_at_5"] = published_after
        print(json.dumps(result, indent=2))
        name = "events_delivery_drip.json" if args.drip else "events_delivery.json"
        out = Path(__file__).parent / "results" / name
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        db.close() if hasattr(db, "close") else None
    finally:
        from app.db.pool import close_pools

        close_pools()
        drop_database(admin, name)


if __name__ == "__main__":
    main()
