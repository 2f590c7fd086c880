"""Hostile input (issue 11): every answer a clear 4xx problem, the same every time, nothing stored."""
from __future__ import annotations

import time

import pytest

from tests.api.helpers import assert_error, ok, post
from tests.factories import initialize_request


# ---------------------------------------------------------------- tokens whose times are not numbers


@pytest.mark.parametrize("claim,value", [
    ("exp", "EXP"), ("nbf", "NOW"), ("iat", "NOW"),
    ("exp", True), ("exp", [1]), ("nbf", {"t": 1}), ("iat", None), ("exp", 10 ** 400),
])
def test_token_times_that_are_not_numbers_are_refused_every_time(client, tokens, claim, value):
    now = int(time.time())
    value = {"EXP": str(now + 600), "NOW": str(now)}.get(value, value) if isinstance(value, str) else value
    headers = tokens.headers(**{claim: value})
    for _ in range(3):  # the first use once answered; later ones hit the verified-token cache
        resp = post(client, initialize_request(), headers)
        assert_error(resp, 401, 4001)
        assert resp.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_with_numeric_times_is_still_cached_and_accepted(client, tokens):
    now = time.time()
    headers = tokens.headers(exp=now + 600.5, nbf=now - 1, iat=now - 1)
    for _ in range(2):
        ok(post(client, initialize_request(), headers))
