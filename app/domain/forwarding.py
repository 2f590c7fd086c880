"""Rules of forwarding a correspondence by e-mail (SPEC.md §3.10). Pure."""

from __future__ import annotations

from app.domain.notification_rules import is_valid_email
from app.domain.text_rules import is_plain_text

MAX_ADDRESS_LENGTH = 1000
MAX_TEXT_LENGTH = 200


def forwarding_error(
    forward_to: str, forwarding_text: str | None, *, allow_forwarding: bool, has_been_read: bool
) -> int | None:
    """The first rule broken, in the contract's order (3011, 3027, 1063, 1066, 1067, 1065), or None.

    The address check is the custom-recipient e-mail rule, as in the original."""
    if not is_valid_email(forward_to):
        return 3011
    if len(forward_to) > MAX_ADDRESS_LENGTH:
        return 3027
    if not allow_forwarding:
        return 1063
    if forwarding_text is not None:
        if len(forwarding_text) > MAX_TEXT_LENGTH:
            return 1066
        if not is_plain_text(forwarding_text):
            return 1067
    if not has_been_read:
        return 1065
    return None


def address_key(forward_to: str) -> str:
    """What makes two addresses the same recipient of a forwarding (1064): trimmed, lower-cased."""
    return forward_to.strip().lower()
