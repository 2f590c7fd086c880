"""POSTing one CloudEvent to a subscriber (Standard Webhooks signature), with the SSRF check at
delivery time: the host is resolved and checked, and the connection goes to a checked address (Host
header and TLS server name stay the endpoint's). No redirects are followed (http.client never does)."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

from app.domain.endpoints import EndpointRefused, resolve_endpoint
from app.domain.events import signature

CONTENT_TYPE = "application/cloudevents+json"


@dataclass(frozen=True)
class PostResult:
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, address: str, host: str, port: int, timeout: float, connect_timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address, self._connect_timeout = address, connect_timeout

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self._connect_timeout)
        sock.settimeout(self.timeout)
        self.sock = sock  # a deadline passing during the handshake shuts this one down
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, address: str, host: str, port: int, timeout: float, connect_timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address, self._connect_timeout = address, connect_timeout

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self._connect_timeout)
        self.sock.settimeout(self.timeout)


def post_event(
    url: str,
    secret: str,
    event: dict[str, Any],
    *,
    allow_private: bool,
    timeout: float = 10.0,
    connect_timeout: float = 3.0,
) -> PostResult:
    try:
        endpoint = resolve_endpoint(url, allow_private=allow_private)
    except EndpointRefused as exc:
        return PostResult(
            None, f"refused: {exc}"
        )  # retried: DNS may change back; fails after the give-up age
    body = json.dumps(event, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": CONTENT_TYPE,
        "webhook-id": str(event["id"]),
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, str(event["id"]), timestamp, body),
        "User-Agent": "correspondence-events/1",
    }
    connection_class = _PinnedHTTPS if endpoint.scheme == "https" else _PinnedHTTP
    conn = connection_class(
        endpoint.addresses[0], endpoint.host, endpoint.port, timeout, min(connect_timeout, timeout)
    )
    # One deadline for the whole exchange (connect, send, status line, headers, body): a subscriber
    # that answers a byte at a time is cut off when it passes, not only when one read waits too long.
    watchdog = _Deadline(conn, timeout)
    try:
        conn.request("POST", endpoint.path, body=body, headers=headers)
        response = conn.getresponse()
        while response.read(65536):  # the answer's body is not used, but read to the end in time
            pass
        if watchdog.expired:
            raise TimeoutError("the answer took too long")
        return PostResult(
            response.status, None if 200 <= response.status < 300 else f"HTTP {response.status}"
        )
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if watchdog.expired:
            return PostResult(None, f"deadline of {timeout:g} s passed")
        return PostResult(None, f"{type(exc).__name__}: {exc}")
    finally:
        watchdog.cancel()
        conn.close()


class _Deadline:
    """Shuts the connection's socket down when `seconds` have passed: whatever call is waiting on it
    (connect, send, a read of the status line, headers or body) returns at once with an error."""

    def __init__(self, conn: http.client.HTTPConnection, seconds: float) -> None:
        self.expired = False
        self._conn = conn
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        self.expired = True
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()
