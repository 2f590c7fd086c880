"""Who is calling, from verified token claims (SPEC.md §2.3). Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

WRITE_SCOPE = "altinn:correspondence.write"
READ_SCOPE = "altinn:correspondence.read"
ORG_URN = "urn:altinn:organization:identifier-no:"
PERSON_URN = "urn:altinn:person:identifier-no:"


def _after_last_colon(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.rsplit(":", 1)[-1] or None


def _json_claim(value: object) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


@dataclass(frozen=True)
class Caller:
    scopes: frozenset[str]
    organization: str | None  # 9-digit org number
    pid: str | None  # 11-digit national identity number
    subject: str | None

    @property
    def party_urn(self) -> str | None:
        if self.pid:
            return PERSON_URN + self.pid
        if self.organization:
            return ORG_URN + self.organization
        return None

    @property
    def organization_urn(self) -> str | None:
        return ORG_URN + self.organization if self.organization else None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Caller:
        scope = claims.get("scope") or ""
        scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
        system_user = _json_claim(claims.get("authorization_details"))
        org = (
            _after_last_colon(_json_claim(system_user.get("systemuser_org")).get("ID"))
            or _after_last_colon(claims.get("urn:altinn:orgNumber"))
            or _after_last_colon(_json_claim(claims.get("consumer")).get("ID"))
        )
        if org is not None and not (len(org) == 9 and org.isdigit()):
            org = None
        pid = claims.get("pid")
        if not (isinstance(pid, str) and len(pid) == 11 and pid.isdigit()):
            pid = None
        sub = claims.get("sub") if isinstance(claims.get("sub"), str) else None
        return cls(scopes=scopes, organization=org, pid=pid, subject=sub)
