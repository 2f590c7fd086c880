"""Local registries (DESIGN.md §5): resources, parties with contact points and KRR reservation, and
access entries (people who act for an organization). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.domain.access import AccessGrant
from app.security.identity import ORG_URN

RESOURCE_PREFIX = "urn:altinn:resource:"
CORRESPONDENCE_SERVICE = "CorrespondenceService"
ALTINN_APP = "AltinnApp"


def strip_resource_prefix(resource_id: str) -> str:
    return resource_id[len(RESOURCE_PREFIX) :] if resource_id.startswith(RESOURCE_PREFIX) else resource_id


@dataclass(frozen=True)
class Resource:
    id: str
    owner_org_number: str
    owner_code: str | None
    owner_name: str | None
    resource_type: str
    title: dict[str, str]
    confidentiality: str = "NotConfidential"
    minimum_auth_level: int = 0

    def title_in(self, language: str | None) -> str:
        if language and language.lower() in self.title:
            return self.title[language.lower()]
        return self.title.get("nb") or next(iter(self.title.values()), self.id)


@dataclass(frozen=True)
class Party:
    urn: str
    name: str
    emails: list[str] = field(default_factory=list)
    mobiles: list[str] = field(default_factory=list)
    reserved: bool = False


class RegistryFileError(ValueError):
    """The registry file does not have the documented shape."""


def parse_registry_file(data: Any) -> tuple[list[Resource], list[Party]]:
    """Validate the registry JSON of DESIGN.md §5 and turn it into domain objects."""
    from app.domain.recipients import normalize_recipient, validate_recipient

    if not isinstance(data, dict):
        raise RegistryFileError("the registry file must hold a JSON object")
    resources: list[Resource] = []
    for i, item in enumerate(data.get("resources") or []):
        try:
            owner = str(item["owner"])
            if not (len(owner) == 9 and owner.isdigit()):
                raise RegistryFileError(f"resources[{i}].owner must be a 9-digit organization number")
            title = item.get("title") or {}
            if isinstance(title, str):
                title = {"nb": title}
            resources.append(
                Resource(
                    id=strip_resource_prefix(str(item["id"])),
                    owner_org_number=owner,
                    owner_code=item.get("ownerCode"),
                    owner_name=item.get("ownerName"),
                    resource_type=item.get("type") or CORRESPONDENCE_SERVICE,
                    title={str(k).lower(): str(v) for k, v in title.items()},
                    confidentiality=item.get("confidentiality") or "NotConfidential",
                    minimum_auth_level=int(item.get("minimumAuthLevel") or 0),
                )
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise RegistryFileError(f"resources[{i}] is missing or has a bad field: {exc}") from exc
    parties: list[Party] = []
    for i, item in enumerate(data.get("parties") or []):
        try:
            raw = str(item["id"])
            problem = validate_recipient(raw)
            if problem:
                raise RegistryFileError(f"parties[{i}].id: {problem}")
            urn = normalize_recipient(raw)
            parties.append(
                Party(
                    urn=urn,
                    name=str(item.get("name") or urn.rsplit(":", 1)[-1]),
                    emails=[str(e) for e in item.get("emails") or []],
                    mobiles=[str(m) for m in item.get("mobiles") or []],
                    reserved=bool(item.get("reserved", False)),
                )
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise RegistryFileError(f"parties[{i}] is missing or has a bad field: {exc}") from exc
    return resources, parties


def parse_access_entries(data: Any) -> list[AccessGrant]:
    """The registry file's `access` list: a person (11 digits) may act for an organization (9 digits)
    on the resources named (`*`: all); an empty list removes the person's access to it."""
    if not isinstance(data, dict):
        raise RegistryFileError("the registry file must hold a JSON object")
    entries = data.get("access") or []
    if not isinstance(entries, list):
        raise RegistryFileError("access must be a list")
    grants: list[AccessGrant] = []
    for i, item in enumerate(entries):
        if not isinstance(item, dict):
            raise RegistryFileError(f"access[{i}] must be an object")
        person, organization, resources = item.get("person"), item.get("organization"), item.get("resources")
        if not (isinstance(person, str) and len(person) == 11 and person.isdigit()):
            raise RegistryFileError(f"access[{i}].person must be an 11-digit national identity number")
        if isinstance(organization, str):
            organization = organization.removeprefix(ORG_URN).removeprefix("0192:")
        if not (isinstance(organization, str) and len(organization) == 9 and organization.isdigit()):
            raise RegistryFileError(f"access[{i}].organization must be a 9-digit organization number")
        if not isinstance(resources, list) or not all(isinstance(r, str) and r for r in resources):
            raise RegistryFileError(f'access[{i}].resources must be a list of resource ids (or "*")')
        grants.append(AccessGrant(person, organization, frozenset(map(strip_resource_prefix, resources))))
    return grants
