"""Who may see a correspondence (SPEC.md §2.4 local rules). Pure."""

from __future__ import annotations

from app.security.identity import ORG_URN, Caller


def is_sender(caller: Caller, sender_urn: str) -> bool:
    """The caller's organization owns the resource, i.e. is the correspondence's sender."""
    return caller.organization is not None and sender_urn == ORG_URN + caller.organization


def is_recipient(caller: Caller, recipient_urn: str) -> bool:
    """The caller is the recipient: the person of `pid`, or the caller organization."""
    if caller.pid and recipient_urn == f"urn:altinn:person:identifier-no:{caller.pid}":
        return True
    return caller.organization is not None and recipient_urn == ORG_URN + caller.organization
