"""Shared set-up for benchmarks: a scratch database on the machine's (or the embedded) PostgreSQL."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db.migrate import apply_migrations  # noqa: E402
from app.embedded import port_open, start_postgres, start_redis  # noqa: E402


def admin_database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    if port_open("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    return start_postgres(ROOT / ".correspondence" / "bench")


def redis_url() -> str:
    if os.environ.get("BENCH_REDIS_URL"):
        return os.environ["BENCH_REDIS_URL"]
    if port_open("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0"
    return start_redis(ROOT / ".correspondence" / "bench").url


def scratch_database(admin_url: str) -> tuple[str, str]:
    """Create a fresh migrated database; returns (uri, name)."""
    from urllib.parse import urlsplit, urlunsplit

    name = f"correspondence_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    apply_migrations(url)
    return url, name


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
