"""Access entries: which person may act for which organization on which resources (the registry's
stand-in for Altinn Authorization, DESIGN.md §4)."""

from __future__ import annotations

import psycopg
from psycopg.rows import DictRow

from app.domain.access import AccessGrant


def grants_of(conn: psycopg.Connection[DictRow], person: str, organization: str) -> list[AccessGrant]:
    row = conn.execute(
        "SELECT resources FROM party_access WHERE person = %s AND organization = %s",
        (person, organization),
    ).fetchone()
    if row is None:
        return []
    return [AccessGrant(person, organization, frozenset(row["resources"]))]


def upsert_access(conn: psycopg.Connection[DictRow], grants: list[AccessGrant]) -> None:
    """Each entry replaces the person's access to the organization; an empty resource list removes it."""
    with conn.cursor() as cur:
        removed = [(g.person, g.organization) for g in grants if not g.resources]
        kept = [(g.person, g.organization, sorted(g.resources)) for g in grants if g.resources]
        if removed:
            cur.executemany("DELETE FROM party_access WHERE person = %s AND organization = %s", removed)
        if kept:
            cur.executemany(
                """INSERT INTO party_access (person, organization, resources, updated)
                   VALUES (%s, %s, %s::text[], now())
                   ON CONFLICT (person, organization)
                   DO UPDATE SET resources = EXCLUDED.resources, updated = now()""",
                kept,
            )
