"""POST /correspondence/{id}/forward (SPEC.md §3.10): the recipient forwards a read correspondence.

Checks in the contract's order after 1001: 3011, 3027, 1063, 1066, 1067, 1065, 1064. The forwarding
event is stored and shows in the details as a Forwarded status (no e-mail is sent here).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest

from app.domain.enums import CorrespondenceStatus as S
from tests.api.helpers import URL, assert_error, assert_validation, details, overview
from tests.conftest import READ, SENDER_ORG, WRITE
from tests.lifecycle.helpers import PERSON_PID, action, create, publish_now, recipient_headers, statuses_of

PERSON_URN = f"urn:altinn:person:identifier-no:{PERSON_PID}"


def forward(client, cid: str, headers: dict[str, str], body=None, **kwargs):
    payload = {"forwardTo": "ola@example.no", "forwardingText": "Se denne"} if body is None else body
    data = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post(
        f"{URL}/{cid}/forward",
        data=data,
        headers=headers,
        content_type=kwargs.pop("content_type", "application/json"),
        **kwargs,
    )


def events_of(db, cid: str) -> list[dict]:
    with db.transaction() as conn:
        return conn.execute(
            "SELECT * FROM correspondence_forwarding_events WHERE correspondence_id = %s "
            "ORDER BY forwarded_on_date",
            (uuid.UUID(cid),),
        ).fetchall()


def read_one(client, sender, tokens, db, allow: bool = True, read: bool = True) -> tuple[str, dict[str, str]]:
    """A published correspondence its recipient has fetched (and read)."""
    [cid] = create(client, sender, allowForwarding=allow)
    publish_now(db)
    me = recipient_headers(tokens)
    assert overview(client, cid, me).status_code == 200
    if read:
        assert action(client, cid, "markasread", me).status_code == 200
    return cid, me


def test_forwarding_is_recorded_answered_with_its_id_and_shown_in_the_details(client, sender, tokens, db):
    cid, me = read_one(client, sender, tokens, db)
    resp = forward(client, cid, me)
    assert resp.status_code == 200, resp.get_json()
    event_id = resp.get_json()
    [event] = events_of(db, cid)
    assert str(event["id"]) == event_id
    assert event["forwarded_to_email_address"] == "ola@example.no"
    assert event["forwarding_text"] == "Se denne"
    assert event["forwarded_by_party_urn"] == PERSON_URN
    for viewer in (me, sender):
        shown = details(client, cid, viewer).get_json()
        assert shown["status"] == "Forwarded"
        [entry] = [h for h in shown["statusHistory"] if h["status"] == "Forwarded"]
        assert entry["statusText"] == "Forwarded"
        assert datetime.fromisoformat(entry["statusChanged"]) == event["forwarded_on_date"]


def test_names_are_case_insensitive_and_the_text_is_optional(client, sender, tokens, db):
    cid, me = read_one(client, sender, tokens, db)
    assert forward(client, cid, me, {"FORWARDTO": "kari@example.no"}).status_code == 200
    assert (
        forward(client, cid, me, {"ForwardTo": "per@example.no", "ForwardingText": None}).status_code == 200
    )
    assert (
        forward(client, cid, me, {"forwardTo": "pål@eksempel.no", "forwardingText": "x" * 200}).status_code
        == 200
    )
    assert [e["forwarding_text"] for e in events_of(db, cid)] == [None, None, "x" * 200]
    assert statuses_of(db, cid).count(S.Forwarded) == 3


def test_1063_when_the_correspondence_does_not_allow_forwarding(client, sender, tokens, db):
    cid, me = read_one(client, sender, tokens, db, allow=False)
    assert_error(forward(client, cid, me), 400, 1063)
    assert events_of(db, cid) == [] and S.Forwarded not in statuses_of(db, cid)


def test_1064_the_same_address_twice_ignoring_case(client, sender, tokens, db):
    cid, me = read_one(client, sender, tokens, db)
    assert forward(client, cid, me, {"forwardTo": "ola@example.no"}).status_code == 200
    assert_error(forward(client, cid, me, {"forwardTo": "OLA@Example.NO"}), 400, 1064)
    assert forward(client, cid, me, {"forwardTo": "kari@example.no"}).status_code == 200
    assert len(events_of(db, cid)) == 2


def test_1065_before_it_has_been_read(client, sender, tokens, db):
    cid, me = read_one(client, sender, tokens, db, read=False)
    assert_error(forward(client, cid, me), 400, 1065)
    assert events_of(db, cid) == []


@pytest.mark.parametrize(
    "address", ["not-an-email", "a@b", "a b@example.no", "ola@example.no;kari@example.no"]
)
def test_3011_an_invalid_address(client, sender, tokens, db, address):
    cid, me = read_one(client, sender, tokens, db)
    assert_error(forward(client, cid, me, {"forwardTo": address}), 400, 3011)


def test_3027_an_address_over_1000_characters(client, sender, tokens, db):
    cid, me = read_one(client, sender, tokens, db)
    address = "a" * 990 + "@example.no"
    assert len(address) == 1001
    assert_error(forward(client, cid, me, {"forwardTo": address}), 400, 3027)


def test_1066_text_over_200_characters_and_1067_text_not_plain(client, sender, tokens, db):
    cid, me = read_one(client, sender, tokens, db)
    assert_error(
        forward(client, cid, me, {"forwardTo": "ola@example.no", "forwardingText": "x" * 201}), 400, 1066
    )
    for text in ("# Overskrift", "<b>fet</b>"):
        assert_error(
            forward(client, cid, me, {"forwardTo": "ola@example.no", "forwardingText": text}), 400, 1067
        )
    assert events_of(db, cid) == []


def test_checks_come_in_the_contracts_order(client, sender, tokens, db):
    not_allowed, me = read_one(client, sender, tokens, db, allow=False, read=False)
    assert_error(forward(client, not_allowed, me, {"forwardTo": "bad"}), 400, 3011)  # 3011 before 1063
    assert_error(forward(client, not_allowed, me, {"forwardTo": "a" * 990 + "@example.no"}), 400, 3027)
    assert_error(
        forward(client, not_allowed, me, {"forwardTo": "ola@example.no", "forwardingText": "x" * 201}),
        400,
        1063,
    )  # 1063 before 1066
    unread, me = read_one(client, sender, tokens, db, read=False)
    assert_error(
        forward(client, unread, me, {"forwardTo": "ola@example.no", "forwardingText": "# x"}), 400, 1067
    )  # 1067 before 1065


def test_1001_unknown_unpublished_purged_or_not_the_recipient(client, sender, tokens, db):
    me = recipient_headers(tokens)
    assert_error(forward(client, str(uuid.uuid4()), me), 404, 1001)
    [unpublished] = create(client, sender, allowForwarding=True)
    assert_error(forward(client, unpublished, me), 404, 1001)
    cid, me = read_one(client, sender, tokens, db)
    assert_error(forward(client, cid, recipient_headers(tokens, pid="07827199405")), 404, 1001)
    assert_error(forward(client, cid, tokens.headers(org=SENDER_ORG, scopes=(READ,))), 404, 1001)
    assert action(client, cid, "purge", me).status_code == 200
    assert_error(forward(client, cid, me), 404, 1001)


def test_policy_and_body_problems(client, sender, tokens, db):
    cid, me = read_one(client, sender, tokens, db)
    assert forward(client, cid, {}).status_code == 401
    assert forward(client, cid, tokens.headers(scopes=(WRITE,))).status_code == 403
    resp = forward(client, cid, me, "forwardTo=ola@example.no", content_type="text/plain")
    assert resp.status_code == 415 and resp.get_json()["status"] == 415
    assert_validation(forward(client, cid, me, "{"))
    for body in ({}, {"forwardTo": None}, {"forwardTo": ""}, {"forwardTo": "  "}, {"forwardTo": 5}):
        assert_validation(forward(client, cid, me, body), path="ForwardTo")
    assert_validation(
        forward(client, cid, me, {"forwardTo": "ola@example.no", "forwardingText": 5}), path="ForwardingText"
    )
    assert_validation(forward(client, cid, me, {"forwardTo": "ola@example.no", "forwardingText": "a\x00"}))
    assert events_of(db, cid) == []
