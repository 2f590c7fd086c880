"""Authentication, scope policy and content negotiation of Initialize (SPEC.md §2.5, §3.1; DESIGN.md §4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.config import DEV_ISSUER
from app.security.tokens import dev_key_id, mint_token
from tests.api.helpers import assert_error, ok, post
from tests.conftest import READ, SENDER_ORG, WRITE
from tests.factories import initialize_request


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(org: str = SENDER_ORG, ttl: int = 600) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": DEV_ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
        "scope": WRITE,
        "urn:altinn:orgNumber": org,
        "consumer": json.dumps({"authority": "iso6523-actorid-upis", "ID": f"0192:{org}"}),
    }


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_token(payload: dict[str, Any], secret: bytes) -> str:
    """HS256 by hand: PyJWT refuses a PEM key as an HMAC secret, an attacker would not."""
    signing_input = ".".join(
        [b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()), b64url(json.dumps(payload).encode())]
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def assert_unauthorized(resp: Any) -> None:
    assert_error(resp, 401, 4001)
    assert resp.headers.get("WWW-Authenticate") == "Bearer"


# ---------------------------------------------------------------- 401


def test_no_token(client):
    assert_unauthorized(post(client, initialize_request(), {}))


@pytest.mark.parametrize("header", ["Bearer garbage", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer "])
def test_garbage_token(client, header):
    assert_unauthorized(post(client, initialize_request(), {"Authorization": header}))


def test_expired_token(client, tokens):
    assert_unauthorized(post(client, initialize_request(), tokens.headers(ttl=-30)))


def test_a_reused_token_is_refused_once_it_expires(client, tokens):
    """The caller read from a token is kept while the token is reused; its expiry still ends it."""
    token = tokens.make(ttl=2)
    for _ in range(2):
        ok(post(client, initialize_request(), bearer(token)))
    time.sleep(2.1)
    assert_unauthorized(post(client, initialize_request(), bearer(token)))


def test_token_signed_by_another_rsa_key(client):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = mint_token(stranger, issuer=DEV_ISSUER, scopes=[WRITE], org=SENDER_ORG, ttl_seconds=600)
    assert_unauthorized(post(client, initialize_request(), bearer(token)))


def test_token_with_the_right_kid_but_another_key(client, tokens):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), stranger, algorithm="RS256", headers={"kid": dev_key_id(tokens.key)})
    assert_unauthorized(post(client, initialize_request(), bearer(token)))


def test_alg_none_token(client):
    token = jwt.encode(claims(), None, algorithm="none")
    assert_unauthorized(post(client, initialize_request(), bearer(token)))


def test_hs256_token_signed_with_public_key_pem(client, tokens):
    pem = tokens.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert_unauthorized(post(client, initialize_request(), bearer(hs256_token(claims(), pem))))


def test_token_from_another_issuer(client, tokens):
    token = jwt.encode({**claims(), "iss": "https://evil.example/"}, tokens.key, algorithm="RS256")
    assert_unauthorized(post(client, initialize_request(), bearer(token)))


def test_token_without_exp(client, tokens):
    payload = claims()
    del payload["exp"]
    token = jwt.encode(payload, tokens.key, algorithm="RS256")
    assert_unauthorized(post(client, initialize_request(), bearer(token)))


# ---------------------------------------------------------------- 403 / 200 / 406


def test_read_scope_only_is_forbidden(client, tokens):
    resp = post(client, initialize_request(), tokens.headers(scopes=(READ,)))
    assert resp.status_code == 403
    assert "errorCode" not in (resp.get_json(silent=True) or {})


def test_maskinporten_consumer_claim_only_is_accepted(client, tokens):
    consumer = json.dumps({"authority": "iso6523-actorid-upis", "ID": f"0192:{SENDER_ORG}"})
    token = mint_token(
        tokens.key, issuer=DEV_ISSUER, scopes=[WRITE], org=None, ttl_seconds=600, extra={"consumer": consumer}
    )
    assert "urn:altinn:orgNumber" not in jwt.decode(token, options={"verify_signature": False})
    body = ok(post(client, initialize_request(), bearer(token)))
    assert len(body["correspondences"]) == 1


def test_control_the_dev_token_is_accepted(client, tokens):
    ok(post(client, initialize_request(), bearer(jwt.encode(claims(), tokens.key, algorithm="RS256"))))


def test_accept_text_html_is_406(client, sender):
    resp = post(client, initialize_request(), {**sender, "Accept": "text/html"})
    assert resp.status_code == 406
    assert resp.mimetype == "text/plain"


def test_authentication_comes_before_content_negotiation(client):
    assert_unauthorized(post(client, initialize_request(), {"Accept": "text/html"}))


@pytest.mark.parametrize("accept", ["application/json", "*/*", "text/html, application/json;q=0.9"])
def test_accept_json_is_fine(client, sender, accept):
    ok(post(client, initialize_request(), {**sender, "Accept": accept}))
