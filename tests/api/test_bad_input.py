"""Bad input found by review: always a 4xx problem, never a 500 (DESIGN.md §3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.helpers import URL, assert_validation, ok, post
from tests.conftest import READ
from tests.factories import initialize_request, iso, with_content


@pytest.mark.parametrize(
    "field,value",
    [
        ("requestedPublishTime", "0001-01-01T00:00:00+01:00"),
        ("dueDateTime", "9999-12-31T23:59:59-01:00"),
        ("dueDateTime", "9500-01-01T00:00:00Z"),
    ],
)
def test_dates_out_of_range(client, sender, field, value):
    assert_validation(post(client, initialize_request(**{field: value}), sender))


def test_search_dates_and_offset_out_of_range(client, sender):
    base = {"resourceId": "test-service", "role": "Sender"}
    for extra in (
        {"from": "0001-01-01T00:00:00+01:00"},
        {"to": "9999-12-31T23:59:59-05:00"},
        {"offset": str(2**63)},
    ):
        assert_validation(client.get(URL, query_string={**base, **extra}, headers=sender))


def test_lone_surrogate_in_text(client, sender):
    body = post(client, with_content(initialize_request(), messageTitle="x\ud800"), sender)
    assert_validation(body)


def test_lone_surrogate_in_attachment_metadata(client, sender):
    resp = client.post(
        "/correspondence/api/v1/attachment",
        headers=sender,
        json={"resourceId": "test-service", "fileName": "a\ud800.txt", "sendersReference": "r"},
    )
    assert_validation(resp)


def test_deeply_nested_json(client, sender):
    assert_validation(post(client, '{"a":' * 5000 + "1" + "}" * 5000, sender))


@pytest.mark.parametrize("days", [2**31, 3_000_000])
def test_expiration_in_days_has_an_upper_bound(client, sender, days):
    resp = client.post(
        "/correspondence/api/v1/attachment",
        headers=sender,
        json={
            "resourceId": "test-service",
            "fileName": "a.txt",
            "sendersReference": "r",
            "expirationInDays": days,
        },
    )
    assert_validation(resp)


def test_recipient_cannot_find_an_unpublished_correspondence_by_idempotent_key(client, sender, tokens):
    key = "6a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    body = initialize_request(requestedPublishTime=iso(timedelta(days=30)))
    body["idempotentKey"] = key
    cid = ok(post(client, body, sender))["correspondences"][0]["correspondenceId"]
    recipient = tokens.headers(org="313721779", scopes=(READ,))
    for resource in ("test-service", "other-owner-service"):
        found = client.get(
            URL,
            query_string={"resourceId": resource, "role": "Recipient", "idempotentKey": key},
            headers=recipient,
        ).get_json()
        assert found == {"ids": []}
    assert client.get(
        URL,
        query_string={"resourceId": "test-service", "role": "Sender", "idempotentKey": key},
        headers=sender,
    ).get_json() == {"ids": [cid]}
