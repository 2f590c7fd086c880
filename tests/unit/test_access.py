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


# ---------------------------------------------------------------- acting for a party, and roles by scope

from app.domain.access import (  # noqa: E402
    RECIPIENT,
    SENDER,
    AccessGrant,
    MissingScope,
    may_act_for,
    needs_grant,
    role_on,
)

COMPANY = "313721779"
COMPANY_URN = f"urn:altinn:organization:identifier-no:{COMPANY}"


def test_a_person_acts_for_an_organization_only_with_a_grant_for_the_resource():
    person = caller(pid=SSN)
    everything = AccessGrant(SSN, COMPANY, frozenset({"*"}))
    one = AccessGrant(SSN, COMPANY, frozenset({"acc-melding"}))
    assert needs_grant(person, COMPANY_URN)
    assert not may_act_for(person, COMPANY_URN, "acc-melding", [])
    assert may_act_for(person, COMPANY_URN, "acc-melding", [everything])
    assert may_act_for(person, COMPANY_URN, "acc-melding", [one])
    assert not may_act_for(person, COMPANY_URN, "other-service", [one])
    assert not may_act_for(caller(pid="07827199405"), COMPANY_URN, "acc-melding", [everything])
    other_company = AccessGrant(SSN, "310654329", frozenset({"*"}))
    assert not may_act_for(person, COMPANY_URN, "acc-melding", [other_company])


def test_nobody_acts_for_a_person_and_organizations_need_no_grant_for_themselves():
    assert not may_act_for(caller(pid=SSN), "urn:altinn:person:identifier-no:07827199405", "x", [])
    assert not may_act_for(caller(org=ORG), COMPANY_URN, "x", [AccessGrant(SSN, COMPANY, frozenset({"*"}))])
    assert not needs_grant(caller(org=COMPANY), COMPANY_URN)
    assert may_act_for(caller(org=COMPANY), COMPANY_URN, "x", [])


def scoped(*scopes: str) -> Caller:
    return Caller(scopes=frozenset(scopes), organization=ORG, pid=None, subject=None)


WRITE, READ = "altinn:correspondence.write", "altinn:correspondence.read"


@pytest.mark.parametrize(
    ("sender", "recipient", "scopes", "expected"),
    [
        (True, False, (WRITE,), SENDER),
        (False, True, (READ,), RECIPIENT),
        (True, True, (WRITE, READ), SENDER),  # both roles: the write scope sends
        (True, True, (READ,), RECIPIENT),
        (True, True, (WRITE,), SENDER),
        (False, False, (WRITE, READ), None),  # a stranger: 404
    ],
)
def test_scopes_choose_the_role(sender, recipient, scopes, expected):
    assert role_on(sender, recipient, scoped(*scopes)) == expected


@pytest.mark.parametrize(
    ("sender", "recipient", "scopes", "missing"),
    [(True, False, (READ,), WRITE), (False, True, (WRITE,), READ)],
)
def test_a_role_without_its_scope_is_refused(sender, recipient, scopes, missing):
    with pytest.raises(MissingScope) as refused:
        role_on(sender, recipient, scoped(*scopes))
    assert refused.value.scope == missing
