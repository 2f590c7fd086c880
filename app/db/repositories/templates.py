"""Notification templates (seeded by the initial migration, SPEC.md §5.3)."""

from __future__ import annotations

import time

import psycopg
from psycopg.rows import DictRow

from app.domain.notification_rules import TEXT_FIELDS

TEXTS = TEXT_FIELDS  # the template columns are named like the request's text fields


# The template rows come with the schema (migrations) and never change while a process runs; a worker
# and Initialize re-read them once a minute rather than once per message or request.
TEMPLATES_TTL_SECONDS = 60.0
_cached: tuple[float, str, dict[tuple[int, str | None], dict[str, str]]] | None = None


def forget_templates() -> None:
    """Read the rows again on next use (for a process that changed them behind the schema's back)."""
    global _cached
    _cached = None


def get_templates(conn: psycopg.Connection[DictRow]) -> dict[tuple[int, str | None], dict[str, str]]:
    """All template rows keyed by (template, language); recipient-type variants share texts."""
    global _cached
    database = conn.info.dbname
    if (
        _cached is not None
        and _cached[1] == database
        and time.monotonic() - _cached[0] < TEMPLATES_TTL_SECONDS
    ):
        return _cached[2]
    rows = conn.execute(
        f"SELECT template, language, {', '.join(TEXTS)} FROM notification_templates ORDER BY id"
    ).fetchall()
    result: dict[tuple[int, str | None], dict[str, str]] = {}
    for row in rows:
        key = (row["template"], row["language"].lower() if row["language"] else None)
        result.setdefault(key, {name: row[name] for name in TEXTS})
    _cached = (time.monotonic(), database, result)
    return result


def pick_template(
    templates: dict[tuple[int, str | None], dict[str, str]], template: int, language: str
) -> dict[str, str] | None:
    """Rows of the template whose language is null or the content language (SPEC.md §5.3)."""
    return templates.get((template, language.lower())) or templates.get((template, None))
