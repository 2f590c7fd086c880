"""Workers for tests: an in-process Celery worker thread, or real worker processes, on the test Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.config import WorkerSettings
from tests.conftest import PREFIX, current_celery
from workers.celery_app import Queues
from workers.gateways.local import LocalGateway
from workers.services import WorkerServices

QUEUES = Queues(PREFIX).consumed


def worker_settings_for_tests(**overrides: Any) -> WorkerSettings:
    values: dict[str, Any] = {
        "max_attempts": 3,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
    }
    values.update(overrides)
    return WorkerSettings(**values)


@pytest.fixture()
def use_gateway(db, celery_broker) -> Iterator[Callable[..., WorkerServices]]:
    """Make in-process tasks (of the session's Celery app) use this database and the given gateway
    (local by default)."""

    def install(gateway=None, **settings: Any) -> WorkerServices:
        services = WorkerServices(worker_settings_for_tests(**settings), db, gateway or LocalGateway())
        current_celery().installed_services = services
        return services

    install()
    yield install
    current_celery().installed_services = None


@pytest.fixture()
def worker(use_gateway, celery_broker):
    """A Celery worker consuming this session's queues in a thread of the test process."""
    from celery.contrib.testing.worker import start_worker

    with start_worker(
        current_celery(),
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=list(QUEUES),
        loglevel=os.environ.get("TEST_WORKER_LOGLEVEL", "WARNING"),
        shutdown_timeout=30,
    ) as controller:
        yield controller


def _environment(database_url: str, broker_url: str, env: dict[str, str]) -> dict[str, str]:
    environment = dict(os.environ, DATABASE_URL=database_url, BROKER_URL=broker_url, **env)
    if not broker_url.startswith("redis"):
        environment.setdefault("REDIS_URL", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    else:
        environment["REDIS_URL"] = broker_url
    return environment


def _start(name: str, cmd: list[str], environment: dict[str, str], tmp_path: Path) -> subprocess.Popen:
    with open(tmp_path / f"{name}-{time.time_ns()}.log", "wb") as log:  # the child keeps its own copy
        return subprocess.Popen(
            cmd, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def relay_process(database_url: str, broker_url: str, tmp_path: Path, **env: str) -> subprocess.Popen:
    """`correspondence relay`, the Procfile's `relay` role, on `broker_url`."""
    relay = str(Path(sys.executable).with_name("correspondence"))
    return _start("relay", [relay, "relay"], _environment(database_url, broker_url, env), tmp_path)


def beat_process(database_url: str, broker_url: str, tmp_path: Path, **env: str) -> subprocess.Popen:
    """`celery beat`, the Procfile's `beat` role, on `broker_url`."""
    cmd = [sys.executable, "-m", "celery", "-A", "workers.main", "beat", "--loglevel", "WARNING"]
    cmd += ["--schedule", str(tmp_path / f"beat-{time.time_ns()}")]
    return _start("beat", cmd, _environment(database_url, broker_url, env), tmp_path)


def worker_process(
    database_url: str,
    broker_url: str,
    tmp_path: Path,
    *,
    beat: bool = False,
    queues: tuple[str, ...] = (),
    **env: str,
) -> subprocess.Popen:
    """A real `celery worker` process group (prefork), as the Procfile runs it, on `broker_url`
    (Redis or RabbitMQ: BROKER_URL wins over REDIS_URL)."""
    environment = _environment(database_url, broker_url, env)
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.main",
        "worker",
        "--concurrency",
        "2",
        "--loglevel",
        "WARNING",
        "--without-mingle",
        "--without-gossip",
        "--hostname",
        f"w{time.time_ns()}@%h",
    ]
    if beat:
        cmd += ["--beat", "--schedule", str(tmp_path / f"beat-{time.time_ns()}")]
    if queues:  # as the Procfile's `worker` (general queues) or `events` role; none: every queue
        cmd += ["--queues", ",".join(queues)]
    return _start("worker", cmd, environment, tmp_path)


class ScriptedNotifications:
    """A tiny Altinn Notifications stand-in: answers POST .../future/orders from a script of replies."""

    def __init__(self, replies: list[tuple[int, dict[str, Any]]], repeat_last: bool = True) -> None:
        self.replies = replies
        self.repeat_last = repeat_last
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner._lock:
                    owner.requests.append({"path": self.path, "body": body})
                    index = len(owner.requests) - 1
                    if index >= len(owner.replies):
                        index = len(owner.replies) - 1
                    status, payload = owner.replies[index]
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
