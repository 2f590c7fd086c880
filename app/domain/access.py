"""Who may act for a party, and who may see a correspondence (SPEC.md §2.4, DESIGN.md §4). Pure.

One question decides every access: may this caller act for this party on this resource? The caller
may act for itself (its organization, or the person of `pid`); a system user acts for its customer
(the token names the customer as the caller's organization); a person acts for an organization when
an access entry grants it for the resource (`AccessGrant`, loaded by the caller of these rules from
the registry, the local stand-in for Altinn Authorization).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.security.identity import ORG_URN, PERSON_URN, READ_SCOPE, WRITE_SCOPE, Caller

ALL_RESOURCES = "*"
SENDER, RECIPIENT = "sender", "recipient"


@dataclass(frozen=True)
class AccessGrant:
    """A person may act for an organization on these resources (`*`: all of them)."""

    person: str  # 11-digit national identity number
    organization: str  # 9-digit organization number
    resources: frozenset[str]

    def covers(self, resource_id: str) -> bool:
        return ALL_RESOURCES in self.resources or resource_id in self.resources


def acts_as_itself(caller: Caller, party_urn: str) -> bool:
    """The party is the caller: the person of `pid`, or the caller's organization."""
    if caller.pid and party_urn == PERSON_URN + caller.pid:
        return True
    return bool(caller.organization) and party_urn == ORG_URN + str(caller.organization)


def organization_of(party_urn: str) -> str | None:
    return party_urn[len(ORG_URN) :] if party_urn.startswith(ORG_URN) else None


def needs_grant(caller: Caller, party_urn: str) -> bool:
    """Whether acting for this party depends on an access entry (a person for an organization)."""
    return (
        caller.pid is not None
        and organization_of(party_urn) is not None
        and not acts_as_itself(caller, party_urn)
    )


def may_act_for(caller: Caller, party_urn: str, resource_id: str, grants: Iterable[AccessGrant]) -> bool:
    if acts_as_itself(caller, party_urn):
        return True
    organization = organization_of(party_urn)
    if not caller.pid or organization is None:
        return False
    return any(
        g.person == caller.pid and g.organization == organization and g.covers(resource_id) for g in grants
    )


def caller_for_party(party_urn: str) -> Caller | None:
    """The party as a caller without scopes (for checks made on its behalf, e.g. at event fan-out)."""
    if party_urn.startswith(PERSON_URN):
        return Caller(scopes=frozenset(), organization=None, pid=party_urn[len(PERSON_URN) :], subject=None)
    if party_urn.startswith(ORG_URN):
        return Caller(scopes=frozenset(), organization=party_urn[len(ORG_URN) :], pid=None, subject=None)
    return None


def is_sender(caller: Caller, sender_urn: str) -> bool:
    """The caller's organization owns the resource, i.e. is the correspondence's sender."""
    return caller.organization is not None and sender_urn == ORG_URN + caller.organization


def is_recipient(caller: Caller, recipient_urn: str) -> bool:
    """The caller is the recipient itself (no access entry considered: see `may_act_for`)."""
    return acts_as_itself(caller, recipient_urn)


class MissingScope(Exception):
    """The caller has this role on the correspondence, but its token lacks the role's scope (403)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__(f"The token lacks the scope {scope}.")


def role_on(sender: bool, recipient: bool, caller: Caller) -> str | None:
    """The role the scopes allow: sender needs the write scope, recipient the read scope; a caller
    who is both acts as sender with the write scope. None: no role (a stranger: 404). Raises
    MissingScope when the caller has a role only its token's scope does not allow (403)."""
    if sender and caller.has_scope(WRITE_SCOPE):
        return SENDER
    if recipient and caller.has_scope(READ_SCOPE):
        return RECIPIENT
    if sender:
        raise MissingScope(WRITE_SCOPE)
    if recipient:
        raise MissingScope(READ_SCOPE)
    return None
