"""What gunicorn answers itself, before the app sees a request (issue 11): problem details, not HTML.

Runs the app as the Procfile's `web` line does (gunicorn, gevent; one worker) on a free loopback port
and sends raw bytes no HTTP client library would send; and one Initialize end to end over it (the
gevent worker with psycopg and the pool).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(settings, tmp_path_factory) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "CORRESPONDENCE_DATA_DIR": str(settings.data_dir),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("prometheus")),
    }
    process = subprocess.Popen(
        procfile_web(port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):  # the worker is up once /health/live answers
            try:
                if _send(port, b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(15)


def procfile_web(port: int) -> list[str]:
    """The Procfile's web command with one worker, bound to 127.0.0.1:port."""
    import shlex

    line = next(item for item in (ROOT / "Procfile").read_text().splitlines() if item.startswith("web:"))
    args = shlex.split(line.split(":", 1)[1])
    args[0] = str(Path(sys.executable).parent / args[0])
    args[args.index("--bind") + 1] = f"127.0.0.1:{port}"
    args[args.index("--workers") + 1] = "1"
    return args


def _send(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "raw,status",
    [
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: a\r\n" % n for n in range(150)) + b"\r\n", 431),
        (b"THIS IS NOT HTTP\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
    ],
)
def test_server_level_errors_are_problem_details(server, raw, status):
    answer, headers, body = _send(server[1], raw)
    assert answer == status, body
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["traceId"]
    assert headers["x-request-id"] and headers["cache-control"] == "no-store"


@pytest.mark.parametrize("chunks", [b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabcXY0\r\n\r\n"])
def test_a_broken_chunked_body_is_a_400_problem_when_the_app_reads_it(server, tokens, chunks):
    raw = (
        b"POST /correspondence/api/v1/correspondence HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer "
        + tokens.make().encode()
        + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunks
    )
    status, headers, body = _send(server[1], raw)
    assert status == 400, body
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 400


def test_the_app_still_answers_through_gunicorn(server):
    status, _headers, body = _send(server[1], b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and json.loads(body)["status"] == "Healthy"


def test_an_initialize_and_its_details_over_the_procfile_web_server(app, server, tokens):
    """The worker class of the Procfile (gevent) with psycopg, the pool and the whole request path
    (`app` loads the test registry)."""
    import http.client

    from tests.factories import initialize_request

    host, port = server
    headers = {**tokens.headers(), "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request(
        "POST",
        "/correspondence/api/v1/correspondence",
        body=json.dumps(initialize_request()),
        headers=headers,
    )
    answer = conn.getresponse()
    body = json.loads(answer.read())
    assert answer.status == 200, body
    [created] = body["correspondences"]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request(
        "GET",
        f"/correspondence/api/v1/correspondence/{created['correspondenceId']}/details",
        headers=tokens.headers(),
    )
    details = conn.getresponse()
    assert details.status == 200 and json.loads(details.read())["recipient"] == created["recipient"]
