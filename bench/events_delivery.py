"""Events delivered per second to a local receiver (issue 13).

    .venv/bin/python bench/events_delivery.py [--recipients 5000] [--subscriptions 1]

Initializes `recipients` correspondences (500 per request: one outbox row each), subscribes a
loopback receiver (ThreadingHTTPServer that verifies every signature and answers 200), then times
the fan-out (outbox rows → one delivery per CloudEvent) and the delivery rounds of the task's code
(app.usecases.deliver_events.deliver_all with workers.gateways.webhooks.post_event, 16 posts at
once, EVENTS_MAX_IN_FLIGHT_PER_ENDPOINT per subscription) in this process. Writes bench/results/events_delivery.json.
"""

from __future__ import annotations

import argparse
import json
import os
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--subscriptions", type=int, default=1)
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
        with db.transaction() as conn:
            for _ in range(args.subscriptions):
                sid = events_repo.create_subscription(
                    conn,
                    end_point=receiver.url,
                    resource_filter="urn:altinn:resource:bench-service",
                    type_filter=None,
                    subject_filter=None,
                    consumer="urn:altinn:organization:identifier-no:" + SENDER,
                    created_by="sender",
                    secret=secret,
                )
                conn.execute("UPDATE event_subscriptions SET status = 'active' WHERE id = %s", (sid,))
        caller = Caller(frozenset({"altinn:correspondence.write"}), SENDER, None, None)
        schema = InitializeCorrespondencesRequestSchema()
        for start in range(0, args.recipients, 500):
            raw = {
                "correspondence": {
                    "resourceId": "bench-service",
                    "sendersReference": "bench",
                    "content": {"language": "nb", "messageTitle": "Bench", "messageBody": "Hei"},
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
        started = time.perf_counter()
        while receiver.ok < expected and time.perf_counter() - started < 300:
            deliver_all(db, post_event, settings, budget_seconds=60)
        delivered = time.perf_counter() - started
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
        print(json.dumps(result, indent=2))
        out = Path(__file__).parent / "results" / "events_delivery.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        db.close() if hasattr(db, "close") else None
    finally:
        from app.db.pool import close_pools

        close_pools()
        drop_database(admin, name)


if __name__ == "__main__":
    main()
