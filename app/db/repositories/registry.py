"""Resources and parties (local Resource Registry, Register, contact points, KRR)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from app.db.arrays import TextArray
from app.db.registry_cache import RegistryCache, registry_changed
from app.db.repositories.templates import get_templates, pick_template
from app.domain.registry import Party, Resource


def get_resource(conn: psycopg.Connection[DictRow], resource_id: str) -> Resource | None:
    row = conn.execute(
        """SELECT id, service_owner_org_number, service_owner_org_code, service_owner_name, resource_type,
                  title, confidentiality, minimum_auth_level
           FROM resources WHERE id = %s""",
        (resource_id,),
    ).fetchone()
    return _resource(row)


def _resource(row: dict[str, Any] | None) -> Resource | None:
    if row is None:
        return None
    return Resource(
        id=row["id"],
        owner_org_number=row["service_owner_org_number"],
        owner_code=row["service_owner_org_code"],
        owner_name=row["service_owner_name"],
        resource_type=row["resource_type"],
        title=row["title"] or {},
        confidentiality=row["confidentiality"],
        minimum_auth_level=row["minimum_auth_level"],
    )


def get_parties(conn: psycopg.Connection[DictRow], urns: Iterable[str]) -> dict[str, Party]:
    rows = conn.execute(
        "SELECT urn, name, emails, mobiles, reserved FROM parties WHERE urn = ANY(%b::text[])",
        (TextArray(urns),),
    ).fetchall()
    return {
        r["urn"]: Party(r["urn"], r["name"], list(r["emails"]), list(r["mobiles"]), r["reserved"])
        for r in rows
    }


def upsert_resources(conn: psycopg.Connection[DictRow], resources: list[Resource]) -> None:
    registry_changed()
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO resources (id, service_owner_org_number, service_owner_org_code, service_owner_name,
                                      resource_type, title, confidentiality, minimum_auth_level, updated)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())
               ON CONFLICT (id) DO UPDATE SET
                 service_owner_org_number = EXCLUDED.service_owner_org_number,
                 service_owner_org_code = EXCLUDED.service_owner_org_code,
                 service_owner_name = EXCLUDED.service_owner_name,
                 resource_type = EXCLUDED.resource_type, title = EXCLUDED.title,
                 confidentiality = EXCLUDED.confidentiality,
                 minimum_auth_level = EXCLUDED.minimum_auth_level, updated = now()""",
            [
                (
                    r.id,
                    r.owner_org_number,
                    r.owner_code,
                    r.owner_name,
                    r.resource_type,
                    Jsonb(r.title),
                    r.confidentiality,
                    r.minimum_auth_level,
                )
                for r in resources
            ],
        )


def upsert_parties(conn: psycopg.Connection[DictRow], parties: list[Party]) -> None:
    registry_changed()
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO parties (urn, name, emails, mobiles, reserved, updated)
               VALUES (%s, %s, %s, %s, %s, now())
               ON CONFLICT (urn) DO UPDATE SET name = EXCLUDED.name, emails = EXCLUDED.emails,
                 mobiles = EXCLUDED.mobiles, reserved = EXCLUDED.reserved, updated = now()""",
            [(p.urn, p.name, p.emails, p.mobiles, p.reserved) for p in parties],
        )


def initialize_lookups(
    conn: psycopg.Connection[DictRow],
    *,
    resource_id: str,
    urns: list[str],
    key: Any,
    template: int | None,
    language: str,
    cache: RegistryCache | None = None,
) -> dict[str, Any]:
    """What Initialize's rules read: the resource, the recipients' parties and whether the
    idempotency key exists, in one statement; whether the notification template has a row for the
    language, from the per-process copy of the template rows (they come with the schema).

    With a `cache` holding the resource and every party, and no key to look up, no statement runs."""
    template_exists = template is None or pick_template(get_templates(conn), template, language) is not None
    if cache is not None and key is None:
        resource = cache.resource(resource_id)
        parties = cache.parties(urns) if resource is not None else None
        if parties is not None:
            return {
                "resource": resource,
                "parties": parties,
                "key_exists": False,
                "template_exists": template_exists,
            }
    row = conn.execute(
        """SELECT
             (SELECT row_to_json(r) FROM (
                 SELECT id, service_owner_org_number, service_owner_org_code, service_owner_name, resource_type,
                        title, confidentiality, minimum_auth_level FROM resources WHERE id = %(resource)s) r)
                 AS resource,
             (SELECT json_agg(json_build_array(urn, name, emails, mobiles, reserved)) FROM parties
              WHERE urn = ANY(%(urns)b::text[])) AS parties,
             (%(key)s::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM idempotency_keys WHERE id = %(key)s::uuid))
                 AS key_exists""",
        {"resource": resource_id, "urns": TextArray(urns), "key": key},
    ).fetchone()
    assert row is not None  # a SELECT without FROM: always one row
    resource = _resource(row["resource"])
    parties = {p[0]: Party(p[0], p[1], list(p[2]), list(p[3]), p[4]) for p in row["parties"] or []}
    if cache is not None:
        cache.remember(resource, urns, parties)
    return {
        "resource": resource,
        "parties": parties,
        "key_exists": row["key_exists"],
        "template_exists": template_exists,
    }
