"""The client library against the real service: the session's app under a real HTTP server (werkzeug,
threaded) on a free loopback port, behind a fault injector that can refuse, delay or lose answers."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "python"
try:
    import correspondence_client  # noqa: F401  (installed: pip install ./clients/python)
except ImportError:  # the README's test command installs the service only: use the checkout's copy
    sys.path.insert(0, str(CLIENT_DIR))

from correspondence_client import CorrespondenceClient, RetryPolicy  # noqa: E402
from tests.lifecycle.helpers import publish_now  # noqa: E402,F401  (re-exported for the tests)
from tests.workers.conftest import use_gateway, worker  # noqa: E402,F401  (fixtures)

INITIALIZE = ("POST", "/correspondence/api/v1/correspondence")


class Faults:
    """WSGI middleware: rules (method, path prefix, action, times) applied to matching requests in order.

    Actions: ("status", code, retry_after) answers at once, the app never sees the request;
    ("lose", code) lets the app answer (and commit), then answers `code` instead (a lost answer);
    ("hold", seconds) lets the app answer, then holds the answer back for that long."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.rules: list[list[Any]] = []
        self.lock = threading.Lock()
        self.applied: list[tuple[str, str, tuple]] = []
        self.initializes = 0  # Initialize requests that reached the app
        self.answered = 0  # answers the app gave to the actions lose/hold (stored, not yet delivered)

    def add(self, request: tuple[str, str], action: tuple, times: int = 1) -> None:
        with self.lock:
            self.rules.append([request[0], request[1], action, times])

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()
            self.applied.clear()
            self.initializes = self.answered = 0

    def _take(self, method: str, path: str) -> tuple | None:
        with self.lock:
            for rule in self.rules:
                if rule[0] == method and path.rstrip("/") == rule[1] and rule[3] > 0:
                    rule[3] -= 1
                    self.applied.append((method, path, rule[2]))
                    return rule[2]
        return None

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        action = self._take(method, path)
        if (action is None or action[0] != "status") and (method, path.rstrip("/")) == INITIALIZE:
            with self.lock:
                self.initializes += 1
        if action is None:
            return self.app(environ, start_response)
        if action[0] == "status":
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            return _problem(start_response, action[1], action[2] if len(action) > 2 else None)
        captured: dict[str, Any] = {}

        def keep(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        result = self.app(environ, keep)
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        with self.lock:
            self.answered += 1
        if action[0] == "lose":
            return _problem(start_response, action[1], None)
        time.sleep(action[1])  # hold
        start_response(captured["status"], captured["headers"])
        return [body]


def _problem(start_response: Callable, status: int, retry_after: Any) -> list[bytes]:
    body = json.dumps({"type": "about:blank", "title": "injected", "status": status}).encode()
    headers = [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body)))]
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    start_response(f"{status} Injected", headers)
    return [body]


@pytest.fixture(scope="session")
def live(app) -> Iterator[tuple[str, Faults]]:
    """(base URL, fault injector) of the app served over real HTTP for this session."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    faults = Faults(app)
    server = make_server("127.0.0.1", 0, faults, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", faults
    server.shutdown()
    thread.join(10)


@pytest.fixture()
def service(live) -> Iterator[tuple[str, Faults]]:
    url, faults = live
    faults.clear()
    yield url, faults
    faults.clear()


@pytest.fixture()
def sleeps() -> list[float]:
    return []


@pytest.fixture()
def make_client(service, tokens, sleeps) -> Iterator[Callable[..., CorrespondenceClient]]:
    """Clients of the live service; their backoff sleeps are recorded (and shortened to nothing)."""
    made: list[CorrespondenceClient] = []

    def make(token: Any = None, **kwargs: Any) -> CorrespondenceClient:
        kwargs.setdefault("retry", RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05))
        kwargs.setdefault("settle_seconds", 0.05)
        kwargs.setdefault("sleep", lambda s: (sleeps.append(s), time.sleep(min(s, 0.05))))
        client = CorrespondenceClient(service[0], token if token is not None else tokens.make(), **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def unique_reference(prefix: str = "client-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def count_by_recipient(db, senders_reference_prefix: str) -> dict[str, int]:
    """Correspondences per recipient among Initializes whose sendersReference starts with the prefix."""
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT c.recipient, count(*) AS n "
            "FROM correspondences c JOIN initializations i ON i.id = c.initialization_id "
            "WHERE i.senders_reference LIKE %s GROUP BY c.recipient",
            (senders_reference_prefix + "%",),
        ).fetchall()
    return {r["recipient"]: r["n"] for r in rows}
