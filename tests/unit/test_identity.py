"""Who is calling, from the claims of the real token kinds (DESIGN.md §4). No app, no key."""

from __future__ import annotations

import json

import pytest

from app.security.identity import Caller

CUSTOMER, VENDOR, OTHER = "313721779", "991825827", "310654329"
SCOPE = "altinn:correspondence.write altinn:correspondence.read"


def consumer(org: str, prefix: str = "0192:", authority: str = "iso6523-actorid-upis") -> dict[str, str]:
    return {"authority": authority, "ID": f"{prefix}{org}"}


def system_user(customer: str = CUSTOMER) -> list[dict[str, object]]:
    """`authorization_details` as Altinn's system-user tokens carry it (RFC 9396: an array)."""
    return [
        {
            "type": "urn:altinn:systemuser",
            "systemuser_id": ["d111dbab-d619-4f15-bf29-58fe570a9ae6"],
            "systemuser_org": consumer(customer),
            "system_id": f"{VENDOR}_accounting",
        }
    ]


def test_maskinporten_enterprise_token():
    caller = Caller.from_claims(
        {"iss": "https://maskinporten.no/", "scope": SCOPE, "consumer": consumer(VENDOR)}
    )
    assert caller.organization == VENDOR
    assert caller.scopes == {"altinn:correspondence.write", "altinn:correspondence.read"}
    assert caller.issuer == "https://maskinporten.no/"


def test_altinn_exchanged_enterprise_token_with_consumer_as_a_json_string():
    claims = {"scope": SCOPE, "consumer": json.dumps(consumer(VENDOR)), "urn:altinn:orgNumber": VENDOR}
    assert Caller.from_claims(claims).organization == VENDOR


@pytest.mark.parametrize(
    "bad",
    [
        consumer(VENDOR, prefix="9908:"),  # another country's register
        consumer(VENDOR, prefix=""),
        consumer(VENDOR, authority="something-else"),
        consumer("12345678"),  # 8 digits
        {"ID": 991825827},
        "not json",
    ],
)
def test_a_consumer_that_is_not_a_norwegian_organization_names_nobody(bad):
    assert Caller.from_claims({"scope": SCOPE, "consumer": bad}).organization is None


def test_system_user_token_acts_as_the_customer_never_as_the_vendor():
    claims = {"scope": SCOPE, "consumer": consumer(VENDOR), "authorization_details": system_user()}
    caller = Caller.from_claims(claims)
    assert caller.organization == CUSTOMER
    assert caller.system_user_id == "d111dbab-d619-4f15-bf29-58fe570a9ae6"
    as_string = Caller.from_claims({**claims, "authorization_details": json.dumps(system_user())})
    assert as_string.organization == CUSTOMER


def test_system_user_details_as_a_single_object_still_name_the_customer():
    claims = {"scope": SCOPE, "consumer": consumer(VENDOR), "authorization_details": system_user()[0]}
    assert Caller.from_claims(claims).organization == CUSTOMER


def test_a_system_user_without_a_readable_customer_does_not_fall_back_to_the_vendor():
    details = system_user()
    details[0]["systemuser_org"] = {"authority": "iso6523-actorid-upis", "ID": "garbage"}
    claims = {"scope": SCOPE, "consumer": consumer(VENDOR), "authorization_details": details}
    assert Caller.from_claims(claims).organization is None


def test_other_authorization_details_are_ignored():
    claims = {"consumer": consumer(VENDOR), "authorization_details": [{"type": "urn:other", "x": 1}]}
    assert Caller.from_claims(claims).organization == VENDOR


def test_id_porten_person_token_keeps_acr_for_the_audit():
    claims = {
        "iss": "https://idporten.no",
        "pid": "08900499559",
        "acr": "idporten-loa-high",
        "scope": "altinn:correspondence.read",
    }
    caller = Caller.from_claims(claims)
    assert caller.pid == "08900499559"
    assert caller.organization is None
    assert caller.acr == "idporten-loa-high"
    assert caller.party_urn == "urn:altinn:person:identifier-no:08900499559"


def test_scope_must_be_a_string():
    assert (
        Caller.from_claims({"scope": ["altinn:correspondence.write"], "consumer": consumer(VENDOR)}).scopes
        == set()
    )
