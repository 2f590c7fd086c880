"""One issuer's keys by OpenID discovery: cached, refetched on an unknown kid (at most once per
interval), kept when the endpoint fails, skipped when their type does not fit the token."""

from __future__ import annotations

import pytest

from app.security.jwks import IssuerKeys, KeysUnavailable, fetch_json, url_problem
from tests.oidc_issuer import LocalIssuer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def issuer():
    server = LocalIssuer()
    yield server
    server.close()


def keys_of(issuer: LocalIssuer, clock: Clock) -> IssuerKeys:
    return IssuerKeys(issuer.url, min_refetch_seconds=10, max_age_seconds=300, clock=clock)


def test_keys_are_fetched_once_and_cached(issuer):
    kid = issuer.add_key()
    clock = Clock()
    keys = keys_of(issuer, clock)
    assert len(keys.keys_for(kid, "RS256")) == 1
    assert len(keys.keys_for(kid, "RS256")) == 1
    assert issuer.jwks_fetches == 1


def test_an_unknown_kid_refetches_at_most_once_per_interval(issuer):
    first = issuer.add_key()
    clock = Clock()
    keys = keys_of(issuer, clock)
    keys.keys_for(first, "RS256")
    rotated = issuer.add_key()
    clock.now += 3
    assert keys.keys_for(rotated, "RS256") == []  # 3 s after the last fetch: not yet
    assert keys.keys_for("nonsense", "RS256") == []
    assert issuer.jwks_fetches == 1
    clock.now += 10
    assert len(keys.keys_for(rotated, "RS256")) == 1  # picked up without a restart
    assert issuer.jwks_fetches == 2


def test_a_removed_key_is_gone_at_the_next_fetch_and_the_generation_changes(issuer):
    old, new = issuer.add_key(), issuer.add_key()
    clock = Clock()
    keys = keys_of(issuer, clock)
    keys.keys_for(old, "RS256")
    generation = keys.generation
    issuer.remove_key(old)
    clock.now += 301  # the cached keys are too old: refetched
    assert keys.keys_for(old, "RS256") == []
    assert len(keys.keys_for(new, "RS256")) == 1
    assert keys.generation > generation


def test_a_failing_endpoint_keeps_the_last_good_keys(issuer):
    kid = issuer.add_key()
    clock = Clock()
    keys = keys_of(issuer, clock)
    keys.keys_for(kid, "RS256")
    issuer.failing = True
    clock.now += 301
    assert len(keys.keys_for(kid, "RS256")) == 1
    issuer.failing = False
    rotated = issuer.add_key()
    clock.now += 11  # retried after the interval
    assert len(keys.keys_for(rotated, "RS256")) == 1


def test_no_keys_ever_fetched_is_unavailable(issuer):
    issuer.failing = True
    with pytest.raises(KeysUnavailable):
        keys_of(issuer, Clock()).keys_for("x", "RS256")


def test_a_key_whose_type_does_not_fit_the_alg_is_skipped(issuer):
    rsa_kid, ec_kid = issuer.add_key("RSA"), issuer.add_key("EC")
    keys = keys_of(issuer, Clock())
    assert len(keys.keys_for(ec_kid, "ES256")) == 1
    assert keys.keys_for(ec_kid, "RS256") == []
    assert keys.keys_for(rsa_kid, "ES256") == []
    assert len(keys.keys_for(None, "ES256")) == 1  # no kid: every key of the right type


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://maskinporten.no/", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost/x", True),
        ("http://[::1]:9/", True),
        ("http://maskinporten.no/", False),
        ("http://10.0.0.1/", False),
        ("ftp://example.org/", False),
        ("https://", False),
    ],
)
def test_http_issuers_only_on_loopback(url, allowed):
    assert (url_problem(url) is None) is allowed


def test_fetch_refuses_plain_http_beyond_loopback():
    with pytest.raises(KeysUnavailable):
        fetch_json("http://192.0.2.1/.well-known/openid-configuration")


def test_a_discovery_document_naming_another_issuer_is_refused(issuer):
    issuer.add_key()
    keys = IssuerKeys(issuer.url + "/other", clock=Clock())
    with pytest.raises(KeysUnavailable):
        keys.keys_for("x", "RS256")
