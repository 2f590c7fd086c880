"""Notification templates (seeded by the initial migration, SPEC.md §5.3)."""
from __future__ import annotations

import psycopg


def template_exists(conn: psycopg.Connection, template: int, language: str) -> bool:
    row = conn.execute(
        """SELECT 1 FROM notification_templates
           WHERE template = %s AND (language IS NULL OR lower(language) = lower(%s)) LIMIT 1""",
        (template, language),
    ).fetchone()
    return row is not None
