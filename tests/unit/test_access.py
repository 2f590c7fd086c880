"""Who may see a correspondence (SPEC.md §2.4, local rules; DESIGN.md §4). No app, no token."""

from __future__ import annotations

import pytest

from app.domain.access import is_recipient, is_sender
from app.security.identity import Caller

ORG = "991825827"
SSN = "08900499559"
ORG_URN = f"urn:altinn:organization:identifier-no:{ORG}"
PERSON_URN = f"urn:altinn:person:identifier-no:{SSN}"


def caller(org: str | None = None, pid: str | None = None) -> Caller:
    return Caller(scopes=frozenset(), organization=org, pid=pid, subject=None)


@pytest.mark.parametrize(
    ("who", "sender", "expected"),
    [
        (caller(org=ORG), ORG_URN, True),
        (caller(org="310654329"), ORG_URN, False),
        (caller(pid=SSN), ORG_URN, False),
        (caller(), "urn:altinn:organization:identifier-no:None", False),
        (caller(org=ORG), ORG, False),  # the sender is compared as a URN
    ],
)
def test_sender_is_the_callers_organization(who: Caller, sender: str, expected: bool) -> None:
    assert is_sender(who, sender) is expected


@pytest.mark.parametrize(
    ("who", "recipient", "expected"),
    [
        (caller(pid=SSN), PERSON_URN, True),
        (caller(org=ORG), ORG_URN, True),
        (caller(org=ORG, pid=SSN), ORG_URN, True),  # a person acting with an organization token
        (caller(org=ORG, pid=SSN), PERSON_URN, True),
        (caller(pid="07827199405"), PERSON_URN, False),
        (caller(org="310654329"), ORG_URN, False),
        (caller(pid=SSN), ORG_URN, False),
        (caller(org=ORG), PERSON_URN, False),
        (caller(), "urn:altinn:person:identifier-no:None", False),
        (caller(pid=""), "urn:altinn:person:identifier-no:", False),
        (caller(), "urn:altinn:organization:identifier-no:None", False),
    ],
)
def test_recipient_is_the_callers_person_or_organization(who: Caller, recipient: str, expected: bool) -> None:
    assert is_recipient(who, recipient) is expected
