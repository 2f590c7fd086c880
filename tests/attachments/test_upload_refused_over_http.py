"""Issue 24, finding 1, from the outside: the Procfile's gunicorn (gevent), a real socket, a 1 GiB
multipart Initialize sent by a write-scope token that owns no resource. It gets the refusal a 1 KiB
version of it gets, before 10 MiB of the body is sent, and no file of it is written: the worker
never has a file open in the storage or temporary folder, nor an unlinked one."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.attachments.bodies import CONTENT_TYPE, Body, GiB, MiB, open_files, pattern, upload_body
from tests.ops.test_server_errors import ROOT, procfile_web

NO_RESOURCE_ORG = "920000002"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn(app, settings, tmp_path_factory) -> Iterator[tuple[int, list[Path], psutil.Process]]:
    port = _free_port()
    storage, temporary = tmp_path_factory.mktemp("storage"), tmp_path_factory.mktemp("tmp")
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "CORRESPONDENCE_DATA_DIR": str(settings.data_dir),
        "STORAGE_DIR": str(storage),
        "TMPDIR": str(temporary),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("prometheus")),
    }
    process = subprocess.Popen(
        procfile_web(port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
                    if b" 200 " in sock.recv(1024):
                        break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        (worker,) = psutil.Process(process.pid).children()
        yield port, [storage.resolve(), temporary.resolve()], worker
    finally:
        process.terminate()
        process.wait(15)


def _head(token: str, length: int) -> bytes:
    return (
        "POST /correspondence/api/v1/correspondence/upload HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _send(port: int, token: str, body: Body, watch) -> tuple[int, dict, int]:
    """Send the body until the answer arrives (or 10 MiB were sent): (status, problem, bytes sent)."""
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)  # no large send buffer
        sock.sendall(_head(token, body.total))
        sock.setblocking(False)
        pending = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock] if sent < body.total else [], [], 1)
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                answer += data
                if not data or (b"\r\n\r\n" in answer and _complete(answer)):
                    break
            if writable:
                watch()
                if sent >= 10 * MiB:
                    break  # the server still reads: it would take it all
                pending = pending or body.read(64 * 1024)
                try:
                    n = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    continue  # the server answered and closed: read what it sent
                sent += n
                pending = pending[n:]
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head, f"no answer after {sent / MiB:.1f} MiB sent"
    status = int(head.split()[1])
    return status, json.loads(payload), sent


def _complete(answer: bytes) -> bool:
    head, _, payload = answer.partition(b"\r\n\r\n")
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("content-length:"):
            return len(payload) >= int(line.split(":")[1])
    return False


def test_1_gib_from_a_token_owning_no_resource_is_refused_like_1_kib_before_10_mib(gunicorn, tokens):
    port, folders, worker = gunicorn
    token = tokens.make(org=NO_RESOURCE_ORG)
    seen: set[str] = set()
    before = open_files(worker.pid, under=folders)

    def watch() -> None:
        seen.update(open_files(worker.pid, under=folders) - before)

    small = _send(port, token, upload_body(1024), watch)
    big = _send(port, token, upload_body(GiB), watch)

    assert small[0] == big[0] == 401 and small[1]["errorCode"] == big[1]["errorCode"] == 4001
    assert small[1]["detail"] == big[1]["detail"]
    assert big[2] < 10 * MiB, f"{big[2] / MiB:.1f} MiB sent before the answer"
    assert seen == set(), seen
    assert [p for folder in folders for p in folder.iterdir()] == []


def test_the_pattern_has_no_line_breaks():
    assert b"\r" not in pattern(0, 65536) and b"\n" not in pattern(0, 65536)
