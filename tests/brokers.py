"""Test brokers: this session's RabbitMQ vhost, and a TCP proxy that can cut a broker off.

RabbitMQ: the machine's server on 127.0.0.1:5672 (guest), a vhost of this test session created and
deleted with `rabbitmqctl` (the server itself is never reconfigured). Without RabbitMQ the tests
that need it skip, unless TEST_REQUIRE_RABBITMQ=1 (CI), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator

import pytest

from app.embedded import port_open

RABBITMQ_HOST, RABBITMQ_PORT = "127.0.0.1", 5672


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def rabbitmq_vhost() -> Iterator[str]:
    """A fresh vhost for the session: yields its amqp:// URL; deleted afterwards."""
    if os.environ.get("TEST_RABBITMQ_URL"):
        yield os.environ["TEST_RABBITMQ_URL"]
        return
    usable = shutil.which("rabbitmqctl") is not None and port_open(RABBITMQ_HOST, RABBITMQ_PORT)
    if not usable:
        if os.environ.get("TEST_REQUIRE_RABBITMQ") == "1":
            pytest.fail("RabbitMQ is required (TEST_REQUIRE_RABBITMQ=1) but not reachable on 5672")
        pytest.skip("no RabbitMQ on 127.0.0.1:5672 (or no rabbitmqctl)")
    vhost = f"correspondence-test-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{RABBITMQ_HOST}:{RABBITMQ_PORT}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a broker; `cut()` closes every connection and refuses new ones
    (the broker is unreachable, as in an outage), `restore()` accepts again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.restore()

    def url_for(self, url: str) -> str:
        """`url` with its host:port replaced by this proxy's."""
        scheme, rest = url.split("://", 1)
        credentials, _, tail = rest.rpartition("@")
        path = tail.split("/", 1)[1] if "/" in tail else ""
        netloc = f"{credentials}@" if credentials else ""
        return f"{scheme}://{netloc}127.0.0.1:{self.port}/{path}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, set()
        if listener is not None:
            listener.close()
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    close = cut

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
