"""A real subscriber on loopback: verifies every Standard Webhooks signature it gets, answers from a
script, can hang, go down and come back on the same port."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app.domain.events import verify
from app.events_settings import load_event_settings
from app.usecases.deliver_events import deliver_all, fan_out_all
from workers.gateways.webhooks import post_event

EVENTS_URL = "/events/api/v1/subscriptions"


class Receiver:
    def __init__(self) -> None:
        self.secret: str | None = None
        self.received: list[dict[str, Any]] = []  # every request: headers, event, status answered, valid
        self.answer: Callable[[dict[str, Any]], int] = lambda event: 200
        self.delay = 0.0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    event = json.loads(body)
                except ValueError:
                    event = {"type": "(not JSON)", "id": None}
                valid = owner.secret is not None and verify(owner.secret, headers, body)
                if owner.delay:
                    time.sleep(owner.delay)
                status = owner.answer(event)
                with owner.lock:
                    owner.received.append(
                        {
                            "headers": headers,
                            "event": event,
                            "status": status,
                            "valid": valid,
                            "path": self.path,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                if status in (301, 302, 307, 308):
                    self.send_header("Location", f"http://127.0.0.1:{owner.port}/redirected")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self, type_suffix: str | None = None, ok_only: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            rows = list(self.received)
        return [
            r
            for r in rows
            if (type_suffix is None or r["event"]["type"].endswith(type_suffix))
            and (not ok_only or 200 <= r["status"] < 300)
        ]


@pytest.fixture()
def events_env(monkeypatch) -> None:
    monkeypatch.setenv("EVENTS_ALLOW_PRIVATE_ENDPOINTS", "true")
    monkeypatch.setenv("EVENTS_RETRY_BASE_SECONDS", "0.2")
    monkeypatch.setenv("EVENTS_RETRY_MAX_INTERVAL_SECONDS", "0.5")
    monkeypatch.setenv("EVENTS_TIMEOUT_SECONDS", "2")


@pytest.fixture()
def receiver(events_env, db) -> Iterator[Receiver]:
    drain(db)  # what earlier tests left in the outbox goes nowhere
    r = Receiver()
    yield r
    r.stop()
    with db.transaction() as conn:  # later tests see no subscription of this one
        conn.execute("UPDATE event_subscriptions SET deleted = now() WHERE deleted IS NULL")


def drain(db) -> None:
    fan_out_all(db, load_event_settings())


def deliver(db, budget: float = 10.0):
    return deliver_all(db, post_event, load_event_settings(), budget_seconds=budget)


def subscribe(client, headers, receiver: Receiver, resource: str = "test-service", **extra: Any) -> dict:
    resp = client.post(
        EVENTS_URL,
        json={"endPoint": receiver.url, "resourceFilter": f"urn:altinn:resource:{resource}", **extra},
        headers=headers,
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    receiver.secret = body["secret"]
    return body


def subscribe_active(client, headers, receiver: Receiver, db, **extra: Any) -> dict:
    body = subscribe(client, headers, receiver, **extra)
    deliver(db)
    assert client.get(f"{EVENTS_URL}/{body['id']}", headers=headers).get_json()["status"] == "active"
    return body
