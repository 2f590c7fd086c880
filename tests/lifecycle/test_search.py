"""GET /correspondence: filters, roles, paging and its error codes (SPEC.md §3.6)."""
from __future__ import annotations

from datetime import timedelta

from tests.api.helpers import URL, assert_error, assert_validation, overview
from tests.factories import iso
from tests.lifecycle.helpers import PERSON_PID, action, create, publish_now, recipient_headers


def search(client, headers, **params):
    return client.get(URL, query_string={"resourceId": "test-service", **params}, headers=headers)


def test_sender_sees_all_its_correspondences_recipient_only_published_ones(client, sender, tokens, db):
    reference = f"search-{iso(timedelta())}"
    published = create(client, sender, sendersReference=reference)
    publish_now(db)
    later = create(client, sender, sendersReference=reference, requestedPublishTime=iso(timedelta(days=1)))
    ids = search(client, sender, role="Sender", sendersReference=reference).get_json()["ids"]
    assert ids == later + published  # newest publish time first
    mine = search(client, recipient_headers(tokens), role="recipient", sendersReference=reference).get_json()["ids"]
    assert mine == published


def test_status_filter_dates_and_paging(client, sender, tokens, db):
    reference = f"filters-{iso(timedelta())}"
    ids = create(client, sender, sendersReference=reference)
    ids += create(client, sender, sendersReference=reference)
    publish_now(db)
    me = recipient_headers(tokens)
    overview(client, ids[0], me)
    action(client, ids[0], "markasread", me)
    assert search(client, me, role=0, status="Read", sendersReference=reference).get_json()["ids"] == [ids[0]]
    assert search(client, sender, role=1, status=4, sendersReference=reference).get_json()["ids"] == [ids[0]]
    page1 = search(client, sender, role=1, sendersReference=reference, limit=1).get_json()["ids"]
    page2 = search(client, sender, role=1, sendersReference=reference, limit=1, offset=1).get_json()["ids"]
    assert len(page1) == len(page2) == 1 and set(page1 + page2) == set(ids)
    assert search(client, sender, role=1, sendersReference=reference, **{"from": iso(timedelta(hours=1))}) \
        .get_json()["ids"] == []


def test_idempotent_key_finds_the_one_correspondence(client, sender):
    key = "3f2b5a1e-0c1d-4e5f-8a9b-0c1d2e3f4a5b"
    ids = create(client, sender, None)
    from tests.api.helpers import ok, post
    from tests.factories import initialize_request

    body = initialize_request()
    body["idempotentKey"] = key
    created = ok(post(client, body, sender))["correspondences"][0]["correspondenceId"]
    assert search(client, sender, role="Sender", idempotentKey=key).get_json()["ids"] == [created]
    assert created not in ids


def test_search_error_codes(client, sender, tokens):
    assert_error(search(client, sender, role="Sender", **{"from": iso(timedelta(days=2)), "to": iso(timedelta(days=1))}),
                 400, 1027)
    assert_error(search(client, sender, role="Sender", offset=-1), 400, 1028)
    assert_validation(search(client, sender, role="Nobody"), path="Role")
    assert_validation(client.get(URL, query_string={"role": "Sender"}, headers=sender), path="ResourceId")
    other = tokens.headers(org="310654329")
    assert_error(search(client, other, role="Sender", onBehalfOf="0192:991825827"), 401, 4001)
    assert_error(search(client, recipient_headers(tokens), role="Recipient", onBehalfOf="07827199405"), 401, 4001)
    no_party = tokens.headers(org=None, pid=None, scopes=("altinn:correspondence.read",), sub="x")
    assert_error(search(client, no_party, role="Recipient"), 401, 4006)
    assert search(client, recipient_headers(tokens), role="Recipient", onBehalfOf=PERSON_PID).status_code == 200
