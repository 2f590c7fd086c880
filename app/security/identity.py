"""Who is calling, from verified token claims (SPEC.md §2.3, DESIGN.md §4). Pure.

Three kinds of tokens name a caller:
- enterprise tokens (Maskinporten, or exchanged at Altinn): `consumer`
  `{"authority": "iso6523-actorid-upis", "ID": "0192:<orgnr>"}` and, on Altinn's, `urn:altinn:orgNumber`;
- system-user tokens: `authorization_details`, an RFC 9396 array with an entry of type
  `urn:altinn:systemuser` whose `systemuser_org` is the customer. The caller is the customer; the
  vendor (`consumer`) only signs in for it and gets nothing of its own from the token;
- person tokens (ID-porten, or exchanged at Altinn): `pid`, with `acr` kept for the audit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

WRITE_SCOPE = "altinn:correspondence.write"
READ_SCOPE = "altinn:correspondence.read"
ORG_URN = "urn:altinn:organization:identifier-no:"
PERSON_URN = "urn:altinn:person:identifier-no:"
ISO6523_AUTHORITY = "iso6523-actorid-upis"
NORWEGIAN_ORG_PREFIX = "0192:"  # ICD 0192: the Norwegian register of legal entities
SYSTEM_USER_TYPE = "urn:altinn:systemuser"


def _json_claim(value: object) -> Any:
    """A claim that is JSON, given either as JSON itself or as a string holding JSON."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _org_number(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) == 9 and value.isdigit() else None


def org_of_iso6523(value: object) -> str | None:
    """The organization number of an ISO 6523 party `{"authority": "iso6523-actorid-upis",
    "ID": "0192:<orgnr>"}`; None for another authority, another prefix or a malformed number."""
    party = _json_claim(value)
    if not isinstance(party, dict):
        return None
    authority, ident = party.get("authority"), party.get("ID")
    if authority not in (None, ISO6523_AUTHORITY) or not isinstance(ident, str):
        return None
    if not ident.startswith(NORWEGIAN_ORG_PREFIX):
        return None
    return _org_number(ident[len(NORWEGIAN_ORG_PREFIX) :])


def system_user_of(claims: dict[str, Any]) -> tuple[str | None, str | None] | None:
    """(customer org number, system user id) of a system-user token; None for other tokens. The
    customer is None when it cannot be read: such a token names nobody (never the vendor).

    `authorization_details` is an array (RFC 9396); a single object is read as an array of one.
    """
    details = _json_claim(claims.get("authorization_details"))
    if isinstance(details, dict):
        details = [details]
    for entry in details if isinstance(details, list) else []:
        if not isinstance(entry, dict) or entry.get("type") != SYSTEM_USER_TYPE:
            continue
        customer = org_of_iso6523(entry.get("systemuser_org"))
        ids = entry.get("systemuser_id")
        first = ids[0] if isinstance(ids, list) and ids else ids
        return customer, first if isinstance(first, str) and customer is not None else None
    return None


@dataclass(frozen=True)
class Caller:
    scopes: frozenset[str]
    organization: str | None  # 9-digit org number the caller acts as
    pid: str | None  # 11-digit national identity number
    subject: str | None
    system_user_id: str | None = None  # set for system-user tokens (the organization is the customer)
    acr: str | None = None  # ID-porten's level of assurance, kept for the audit
    issuer: str | None = None

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
        system_user = system_user_of(claims)
        if system_user is not None:
            org: str | None = system_user[0]
        else:
            number = claims.get("urn:altinn:orgNumber")
            number = number.rsplit(":", 1)[-1] if isinstance(number, str) else None
            org = _org_number(number) or org_of_iso6523(claims.get("consumer"))
        pid = claims.get("pid")
        if not (isinstance(pid, str) and len(pid) == 11 and pid.isdigit()):
            pid = None
        acr = claims.get("acr")
        sub = claims.get("sub")
        iss = claims.get("iss")
        return cls(
            scopes=scopes,
            organization=org,
            pid=pid,
            subject=sub if isinstance(sub, str) else None,
            system_user_id=system_user[1] if system_user else None,
            acr=acr if isinstance(acr, str) else None,
            issuer=iss if isinstance(iss, str) else None,
        )
