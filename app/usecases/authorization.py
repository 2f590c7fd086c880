"""The one authorization seam (DESIGN.md §4): may this caller act for this party on this resource?

Here it is answered from the registry's access entries (app/db/repositories/access.py), the local
stand-in for Altinn Authorization; a PDP client replaces `may_act_for` behind the same signature.
Every use case that shows or changes a correspondence as its recipient asks through here.
"""

from __future__ import annotations

from typing import Any

from app.db.repositories import access as access_repo
from app.domain import access
from app.domain.access import RECIPIENT, SENDER, is_sender, needs_grant, organization_of, role_on
from app.domain.errors import CorrespondenceError
from app.security.identity import Caller


def may_act_for(conn: Any, caller: Caller, party_urn: str, resource_id: str) -> bool:
    """The caller itself, a system user for its customer, or a person with an access entry."""
    if not needs_grant(caller, party_urn):
        return access.may_act_for(caller, party_urn, resource_id, ())
    organization = organization_of(party_urn)
    assert caller.pid is not None and organization is not None  # needs_grant says so
    grants = access_repo.grants_of(conn, caller.pid, organization)
    return access.may_act_for(caller, party_urn, resource_id, grants)


def role_on_correspondence(conn: Any, caller: Caller, row: dict[str, Any], only: str | None = None) -> str:
    """SENDER or RECIPIENT of this correspondence (a row with sender, recipient, resource_id), as the
    token's scopes allow; `only` asks for one role. 404/1001 for anyone without it (existence is not
    revealed); 403 (MissingScope) for a caller whose role its token's scope does not allow."""
    sender = only != RECIPIENT and is_sender(caller, row["sender"])
    recipient = only != SENDER and may_act_for(conn, caller, row["recipient"], row["resource_id"])
    role = role_on(sender, recipient, caller)
    if role is None:
        raise CorrespondenceError(1001)
    return role
