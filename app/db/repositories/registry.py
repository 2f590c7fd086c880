"""Resources and parties (local Resource Registry, Register, contact points, KRR)."""
from __future__ import annotations

from typing import Iterable

import psycopg
from psycopg.types.json import Jsonb

from app.domain.registry import Party, Resource


def get_resource(conn: psycopg.Connection, resource_id: str) -> Resource | None:
    row = conn.execute(
        """SELECT id, service_owner_org_number, service_owner_org_code, service_owner_name, resource_type,
                  title, confidentiality, minimum_auth_level
           FROM resources WHERE id = %s""",
        (resource_id,),
    ).fetchone()
    if row is None:
        return None
    return Resource(
        id=row["id"], owner_org_number=row["service_owner_org_number"], owner_code=row["service_owner_org_code"],
        owner_name=row["service_owner_name"], resource_type=row["resource_type"], title=row["title"] or {},
        confidentiality=row["confidentiality"], minimum_auth_level=row["minimum_auth_level"],
    )


def get_parties(conn: psycopg.Connection, urns: Iterable[str]) -> dict[str, Party]:
    rows = conn.execute(
        "SELECT urn, name, emails, mobiles, reserved FROM parties WHERE urn = ANY(%s)", (list(urns),)
    ).fetchall()
    return {r["urn"]: Party(r["urn"], r["name"], list(r["emails"]), list(r["mobiles"]), r["reserved"]) for r in rows}


def upsert_resources(conn: psycopg.Connection, resources: list[Resource]) -> None:
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
            [(r.id, r.owner_org_number, r.owner_code, r.owner_name, r.resource_type, Jsonb(r.title),
              r.confidentiality, r.minimum_auth_level) for r in resources],
        )


def upsert_parties(conn: psycopg.Connection, parties: list[Party]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO parties (urn, name, emails, mobiles, reserved, updated)
               VALUES (%s, %s, %s, %s, %s, now())
               ON CONFLICT (urn) DO UPDATE SET name = EXCLUDED.name, emails = EXCLUDED.emails,
                 mobiles = EXCLUDED.mobiles, reserved = EXCLUDED.reserved, updated = now()""",
            [(p.urn, p.name, p.emails, p.mobiles, p.reserved) for p in parties],
        )
