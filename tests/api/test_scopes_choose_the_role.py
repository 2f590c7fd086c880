"""Scopes choose the role (DESIGN.md §4): the write scope for sender actions, the read scope for
recipient actions; a caller whose role its token's scope does not allow gets 403, a stranger 404."""

from __future__ import annotations

from tests.api.helpers import URL, assert_error, details, ok, overview
from tests.conftest import READ, SENDER_ORG, WRITE
from tests.factories import ORG_RECIPIENT
from tests.lifecycle.helpers import action, create, publish_now
from tests.lifecycle.test_search import search

RECIPIENT_ORG = ORG_RECIPIENT.rsplit(":", 1)[1]


def assert_forbidden(resp) -> None:
    assert resp.status_code == 403, (resp.status_code, resp.get_json(silent=True))
    assert resp.mimetype == "application/problem+json"
    assert "scope" in resp.get_json()["detail"]


def test_a_read_only_token_of_the_sender_cannot_purge_or_view_as_sender(client, sender, tokens):
    [cid] = create(client, sender, [ORG_RECIPIENT])  # not published: the sender may purge it
    read_only = tokens.headers(org=SENDER_ORG, scopes=(READ,))
    assert_forbidden(action(client, cid, "purge", read_only))
    assert_forbidden(details(client, cid, read_only))
    assert_forbidden(overview(client, cid, read_only))
    assert_forbidden(search(client, read_only, role="Sender"))
    assert ok(action(client, cid, "purge", sender)) == cid  # with the write scope it may


def test_a_write_only_token_of_the_recipient_cannot_read(client, sender, tokens, db):
    [cid] = create(client, sender, [ORG_RECIPIENT])
    publish_now(db)
    write_only = tokens.headers(org=RECIPIENT_ORG, scopes=(WRITE,))
    assert_forbidden(details(client, cid, write_only))
    assert_forbidden(overview(client, cid, write_only))
    assert_forbidden(action(client, cid, "purge", write_only))
    assert_forbidden(search(client, write_only, role="Recipient"))
    for name in ("markasread", "confirm"):
        assert client.post(f"{URL}/{cid}/{name}", headers=write_only).status_code == 403
    read_only = tokens.headers(org=RECIPIENT_ORG, scopes=(READ,))
    assert details(client, cid, read_only).status_code == 200


def test_each_role_gets_exactly_its_view(client, sender, tokens, db):
    [cid] = create(client, sender, [ORG_RECIPIENT])
    publish_now(db)
    as_sender = details(client, cid, sender).get_json()
    as_recipient = details(client, cid, tokens.headers(org=RECIPIENT_ORG, scopes=(READ,))).get_json()
    assert as_sender["content"]["messageTitle"] == ""  # published: the sender sees a placeholder
    assert as_recipient["content"]["messageTitle"] != ""


def test_strangers_still_get_404_whatever_their_scopes(client, sender, tokens, db):
    [cid] = create(client, sender, [ORG_RECIPIENT])
    publish_now(db)
    for scopes in ((READ,), (WRITE,), (READ, WRITE)):
        stranger = tokens.headers(org="310654329", scopes=scopes)
        assert_error(details(client, cid, stranger), 404, 1001)
        assert_error(action(client, cid, "purge", stranger), 404, 1001)
