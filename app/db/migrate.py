"""Schema migrations: plain SQL files in app/db/migrations applied by yoyo-migrations."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from yoyo import get_backend, read_migrations

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def yoyo_url(database_url: str) -> str:
    """yoyo wants `postgresql+psycopg://` to use psycopg 3."""
    parts = urlsplit(database_url)
    scheme = "postgresql+psycopg"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def apply_migrations(database_url: str) -> list[str]:
    """Apply pending migrations (idempotent, locked against concurrent runs). Returns applied ids."""
    backend = get_backend(yoyo_url(database_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [m.id for m in pending]
