"""GET /correspondence: filters, roles, paging and its error codes (SPEC.md §3.6)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.helpers import URL, assert_error, assert_validation, overview
from tests.conftest import READ, WRITE
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
    mine = search(client, recipient_headers(tokens), role="recipient", sendersReference=reference).get_json()[
        "ids"
    ]
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
    # Every correspondence has been Initialized (derived from its Initialize, not stored), and a
    # recipient never sees that status.
    initialized = search(client, sender, role=1, status="Initialized", sendersReference=reference)
    assert set(initialized.get_json()["ids"]) == set(ids)
    assert (
        search(client, me, role=0, status="Initialized", sendersReference=reference).get_json()["ids"] == []
    )
    page1 = search(client, sender, role=1, sendersReference=reference, limit=1).get_json()["ids"]
    page2 = search(client, sender, role=1, sendersReference=reference, limit=1, offset=1).get_json()["ids"]
    assert len(page1) == len(page2) == 1 and set(page1 + page2) == set(ids)
    assert (
        search(
            client, sender, role=1, sendersReference=reference, **{"from": iso(timedelta(hours=1))}
        ).get_json()["ids"]
        == []
    )


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
    assert_error(
        search(
            client, sender, role="Sender", **{"from": iso(timedelta(days=2)), "to": iso(timedelta(days=1))}
        ),
        400,
        1027,
    )
    assert_error(search(client, sender, role="Sender", offset=-1), 400, 1028)
    assert_validation(search(client, sender, role="Nobody"), path="Role")
    assert_validation(client.get(URL, query_string={"role": "Sender"}, headers=sender), path="ResourceId")
    other = tokens.headers(org="310654329")
    assert_error(search(client, other, role="Sender", onBehalfOf="0192:991825827"), 401, 4001)
    assert_error(
        search(client, recipient_headers(tokens), role="Recipient", onBehalfOf="07827199405"), 401, 4001
    )
    no_party = tokens.headers(org=None, pid=None, scopes=("altinn:correspondence.read",), sub="x")
    assert_error(search(client, no_party, role="Recipient"), 401, 4006)
    assert (
        search(client, recipient_headers(tokens), role="Recipient", onBehalfOf=PERSON_PID).status_code == 200
    )


MALFORMED_ON_BEHALF_OF = [
    "invalid",
    "123456789",  # a plain organization number: not accepted
    "12345678901",  # 11 digits failing mod-11
    "urn:altinn:person:identifier-no:12345678901",  # the same as a URN
    "0192:12345678",  # 8 digits
    "urn:altinn:person:identifier-no:0890049955",  # 10 digits
    "urn:altinn:invalid:991825827",
    "1234:991825827",  # another country code
    " 0192:991825827",  # not trimmed
]


@pytest.mark.parametrize("value", MALFORMED_ON_BEHALF_OF)
def test_malformed_on_behalf_of_is_a_validation_problem_not_401(client, sender, tokens, value):
    for headers, role in ((sender, "Sender"), (recipient_headers(tokens), "Recipient")):
        assert_validation(search(client, headers, role=role, onBehalfOf=value), path="OnBehalfOf")


@pytest.mark.parametrize("blank", ["", " ", "  \t "])
def test_blank_on_behalf_of_is_absent(client, sender, tokens, db, blank):
    reference = f"blank-{iso(timedelta())}"
    ids = create(client, sender, sendersReference=reference)
    publish_now(db)
    assert search(client, sender, role="Sender", sendersReference=reference, onBehalfOf=blank).get_json() == {
        "ids": ids
    }
    me = recipient_headers(tokens)
    assert search(client, me, role="Recipient", sendersReference=reference, onBehalfOf=blank).get_json() == {
        "ids": ids
    }


@pytest.mark.parametrize("role", ["Recipient", "Sender", "RecipientAndSender", "0", "1", "2"])
@pytest.mark.parametrize("own", [PERSON_PID, f"urn:altinn:person:identifier-no:{PERSON_PID}"])
def test_a_person_on_their_own_behalf_may_search_in_any_role(client, sender, tokens, db, role, own):
    reference = f"own-{iso(timedelta())}"
    ids = create(client, sender, sendersReference=reference)
    publish_now(db)
    resp = search(client, recipient_headers(tokens), role=role, onBehalfOf=own, sendersReference=reference)
    assert resp.status_code == 200, resp.get_json()
    expected = [] if role in ("Sender", "1") else ids  # a person sends nothing
    assert resp.get_json() == {"ids": expected}


def test_a_person_with_the_write_scope_too_searches_on_their_own_behalf(client, sender, tokens, db):
    reference = f"own-write-{iso(timedelta())}"
    ids = create(client, sender, sendersReference=reference)
    publish_now(db)
    both = tokens.headers(org=None, pid=PERSON_PID, scopes=(READ, WRITE))
    for role, expected in (("Sender", []), ("RecipientAndSender", ids), ("Recipient", ids)):
        resp = search(client, both, role=role, onBehalfOf=PERSON_PID, sendersReference=reference)
        assert resp.get_json() == {"ids": expected}, role


def test_someone_else_on_behalf_of_is_still_4001(client, sender, tokens):
    me = recipient_headers(tokens)
    for role in ("Recipient", "Sender", "RecipientAndSender"):
        assert_error(search(client, me, role=role, onBehalfOf="07827199405"), 401, 4001)
        assert_error(search(client, me, role=role, onBehalfOf="0192:991825827"), 401, 4001)


def test_altinn2_correspondence_id_filters_on_the_migrated_id(client, sender, db):
    reference = f"altinn2-{iso(timedelta())}"
    first = create(client, sender, sendersReference=reference)
    second = create(client, sender, sendersReference=reference)
    assert search(
        client, sender, role="Sender", sendersReference=reference, altinn2CorrespondenceId=4711
    ).get_json() == {"ids": []}  # nothing made here carries an Altinn 2 id
    with db.transaction() as conn:
        conn.execute("UPDATE correspondences SET altinn2_correspondence_id = 4711 WHERE id = %s", (first[0],))
    assert search(
        client, sender, role="Sender", sendersReference=reference, altinn2CorrespondenceId=4711
    ).get_json() == {"ids": first}
    assert second[0] in search(client, sender, role="Sender", sendersReference=reference).get_json()["ids"]
    for bad in ("abc", "1.5", str(2**31)):
        assert_validation(
            search(client, sender, role="Sender", altinn2CorrespondenceId=bad), path="Altinn2CorrespondenceId"
        )
