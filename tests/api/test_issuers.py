"""Real token kinds from several OpenID issuers, keys that rotate (DESIGN.md §4).

A local issuer started by the test publishes its discovery document and JWKS over HTTP on loopback;
the app trusts it through `JWT_ISSUERS` alone (no development key)."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.web import create_app
from tests.api.helpers import URL, assert_error, ok, post
from tests.conftest import OTHER_ORG, READ, SENDER_ORG, WRITE
from tests.factories import ORG_RECIPIENT, initialize_request
from tests.oidc_issuer import LocalIssuer

CUSTOMER = SENDER_ORG  # the resource owner, a system user's customer
VENDOR = OTHER_ORG
AUDIENCE = "https://correspondence.example/api"


@pytest.fixture()
def maskinporten():
    issuer = LocalIssuer()
    issuer.add_key("RSA")
    yield issuer
    issuer.close()


@pytest.fixture()
def altinn():
    issuer = LocalIssuer()
    issuer.add_key("EC")
    yield issuer
    issuer.close()


def make_client(app, settings, issuers, **changes):
    """An app of its own, trusting only these issuers (the session app's registry and database)."""
    changed = dataclasses.replace(
        settings,
        issuers=[i.url for i in issuers],
        dev_keys=False,
        jwks_min_refetch_seconds=changes.pop("min_refetch", 0.2),
        **changes,
    )
    application = create_app(changed)
    application.testing = True
    return application.test_client()


@pytest.fixture()
def client2(app, settings, maskinporten, altinn):
    return make_client(app, settings, [maskinporten, altinn])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def consumer(org: str) -> dict[str, str]:
    return {"authority": "iso6523-actorid-upis", "ID": f"0192:{org}"}


def enterprise(issuer: LocalIssuer, org: str = SENDER_ORG, scope: str = WRITE, **extra) -> str:
    """A Maskinporten token: `consumer` as JSON, `scope` a space-separated string."""
    kid = next(iter(issuer.keys))
    return issuer.token(kid, {"scope": scope, "consumer": consumer(org), "client_id": "abc", **extra})


def altinn_exchanged(issuer: LocalIssuer, org: str = SENDER_ORG, scope: str = WRITE) -> str:
    """An Altinn token exchanged from Maskinporten: `consumer` as a JSON string, `urn:altinn:orgNumber`."""
    kid = next(iter(issuer.keys))
    claims = {"scope": scope, "consumer": json.dumps(consumer(org)), "urn:altinn:orgNumber": org}
    return issuer.token(kid, {**claims, "urn:altinn:org": "digdir", "urn:altinn:authlevel": 3})


def system_user(issuer: LocalIssuer, customer: str, vendor: str, scope: str = WRITE) -> str:
    kid = next(iter(issuer.keys))
    details = [
        {
            "type": "urn:altinn:systemuser",
            "systemuser_id": ["d111dbab-d619-4f15-bf29-58fe570a9ae6"],
            "systemuser_org": consumer(customer),
            "system_id": f"{vendor}_accounting",
        }
    ]
    return issuer.token(kid, {"scope": scope, "consumer": consumer(vendor), "authorization_details": details})


def person(issuer: LocalIssuer, pid: str, scope: str = READ) -> str:
    kid = next(iter(issuer.keys))
    return issuer.token(
        kid, {"scope": scope, "pid": pid, "acr": "idporten-loa-substantial", "client_id": "x"}
    )


def test_enterprise_tokens_of_both_issuers_act_as_their_organization(client2, maskinporten, altinn):
    ok(post(client2, initialize_request(), bearer(enterprise(maskinporten))))
    ok(post(client2, initialize_request(), bearer(altinn_exchanged(altinn))))  # ES256
    other = post(client2, initialize_request(), bearer(enterprise(maskinporten, org=OTHER_ORG)))
    assert_error(other, 401, 4001)  # OTHER_ORG does not own test-service


def test_a_system_user_acts_as_its_customer_and_never_as_the_vendor(client2, maskinporten):
    answer = ok(post(client2, initialize_request(), bearer(system_user(maskinporten, CUSTOMER, VENDOR))))
    cid = answer["correspondences"][0]["correspondenceId"]
    details = client2.get(f"{URL}/{cid}/details", headers=bearer(system_user(maskinporten, CUSTOMER, VENDOR)))
    assert details.status_code == 200
    assert details.get_json()["sender"] == f"urn:altinn:organization:identifier-no:{CUSTOMER}"
    # The vendor's own organization gets nothing of its customer's ...
    vendor_itself = bearer(enterprise(maskinporten, org=VENDOR, scope=f"{WRITE} {READ}"))
    assert_error(client2.get(f"{URL}/{cid}/details", headers=vendor_itself), 404, 1001)
    # ... and a system user of another customer, through the same vendor, neither.
    stranger = system_user(maskinporten, customer="313721779", vendor=SENDER_ORG, scope=f"{WRITE} {READ}")
    assert_error(post(client2, initialize_request(), bearer(stranger)), 401, 4001)


def test_a_person_token_reads_their_own_correspondence(client2, maskinporten, altinn, db):
    from tests.lifecycle.helpers import publish_now

    pid = "08900499559"
    body = initialize_request([f"urn:altinn:person:identifier-no:{pid}"])
    cid = ok(post(client2, body, bearer(enterprise(maskinporten))))["correspondences"][0]["correspondenceId"]
    publish_now(db)
    resp = client2.get(f"{URL}/{cid}", headers=bearer(person(altinn, pid)))
    assert resp.status_code == 200, resp.get_json()
    assert_error(client2.get(f"{URL}/{cid}", headers=bearer(person(altinn, "07827199405"))), 404, 1001)


def test_a_token_of_an_issuer_not_listed_is_401(client2, maskinporten):
    unlisted = LocalIssuer()
    try:
        kid = unlisted.add_key()
        token = unlisted.token(kid, {"scope": WRITE, "consumer": consumer(SENDER_ORG)})
        assert_error(post(client2, initialize_request(), bearer(token)), 401, 4001)
        # Nor may it claim a listed issuer's name with its own key.
        forged = unlisted.token(
            kid, {"scope": WRITE, "consumer": consumer(SENDER_ORG)}, issuer=maskinporten.url
        )
        assert_error(post(client2, initialize_request(), bearer(forged)), 401, 4001)
    finally:
        unlisted.close()


def test_the_audience_is_checked_when_configured(app, settings, maskinporten):
    client = make_client(app, settings, [maskinporten], audiences=[AUDIENCE, "urn:other"])
    ok(post(client, initialize_request(), bearer(enterprise(maskinporten, aud=AUDIENCE))))
    ok(post(client, initialize_request(), bearer(enterprise(maskinporten, aud=["x", "urn:other"]))))
    assert_error(
        post(client, initialize_request(), bearer(enterprise(maskinporten, aud="https://elsewhere"))),
        401,
        4001,
    )
    assert_error(post(client, initialize_request(), bearer(enterprise(maskinporten))), 401, 4001)  # no aud


def test_a_rotated_key_is_accepted_and_a_removed_one_refused_without_a_restart(client2, maskinporten):
    old = next(iter(maskinporten.keys))
    old_token = enterprise(maskinporten)
    ok(post(client2, initialize_request(), bearer(old_token)))
    new = maskinporten.add_key("RSA")
    maskinporten.remove_key(old)
    time.sleep(0.3)  # past the refetch interval the test configured (10 s by default)
    new_token = maskinporten.token(new, {"scope": WRITE, "consumer": consumer(SENDER_ORG)})
    ok(post(client2, initialize_request(), bearer(new_token)))  # unknown kid: one refetch
    # The old key is gone from the issuer's set: its token (verified and cached before) is refused.
    assert_error(post(client2, initialize_request(), bearer(old_token)), 401, 4001)
    fresh_old = maskinporten.token(old, {"scope": WRITE, "consumer": consumer(SENDER_ORG)}, key=_key_gone())
    assert_error(post(client2, initialize_request(), bearer(fresh_old)), 401, 4001)


def _key_gone():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_failing_issuer_keeps_its_last_good_keys(client2, maskinporten):
    ok(post(client2, initialize_request(), bearer(enterprise(maskinporten))))
    maskinporten.failing = True
    time.sleep(0.3)
    ok(post(client2, initialize_request(), bearer(enterprise(maskinporten))))  # a new token, same key
    maskinporten.failing = False


def test_an_es256_token_is_verified_although_an_rsa_key_is_configured_too(app, settings):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pems = [
        k.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
        for k in (rsa_key, ec_key)
    ]
    changed = dataclasses.replace(
        settings, public_keys=pems, dev_keys=False, issuer="https://static.example/"
    )
    application = create_app(changed)
    application.testing = True
    client = application.test_client()
    issuer = LocalIssuer()  # used only to sign
    try:
        for key in (ec_key, rsa_key):
            token = issuer.token(
                "k",
                {"scope": WRITE, "consumer": consumer(SENDER_ORG)},
                key=key,
                issuer="https://static.example/",
            )
            ok(post(client, initialize_request([ORG_RECIPIENT]), bearer(token)))
    finally:
        issuer.close()
