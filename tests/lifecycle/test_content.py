"""GET /correspondence/{id}/content: the recipient reads the message body as text (issue 10).

As Altinn's controller (the overview handler with OnlyGettingContent): recipients only, the body as
`text/plain; charset=utf-8`, a Fetched row (15 s debounce, as the overview) and Read when not yet read.
"""

from __future__ import annotations

import uuid

from app.domain.enums import CorrespondenceStatus as S
from tests.api.helpers import URL, assert_error, details, overview
from tests.conftest import READ, SENDER_ORG, WRITE
from tests.factories import ORG_RECIPIENT
from tests.lifecycle.helpers import action, create, publish_now, recipient_headers, statuses_of

BODY = "Hei **verden**"  # tests.factories.initialize_request


def content(client, cid: str, headers: dict[str, str], **kwargs):
    return client.get(f"{URL}/{cid}/content", headers=headers, **kwargs)


def fetched_count(db, cid: str) -> int:
    with db.transaction() as conn:
        return conn.execute(
            "SELECT count(*) AS n FROM correspondence_fetched WHERE correspondence_id = %s", (uuid.UUID(cid),)
        ).fetchone()["n"]


def events_of(db, cid: str) -> list[str]:
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT event_type FROM correspondence_events WHERE correspondence_id = %s ORDER BY id",
            (uuid.UUID(cid),),
        ).fetchall()
    return [r["event_type"] for r in rows]


def test_recipient_gets_the_body_as_text_and_it_is_fetched_and_read(client, sender, tokens, db):
    [cid] = create(client, sender)
    publish_now(db)
    resp = content(client, cid, {**recipient_headers(tokens), "Accept": "text/plain"})
    assert resp.status_code == 200, resp.data
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert resp.get_data(as_text=True) == BODY
    assert fetched_count(db, cid) == 1
    assert statuses_of(db, cid).count(S.Read) == 1
    assert "correspondencereceiverread" in events_of(db, cid)
    shown = details(client, cid, sender).get_json()
    assert shown["status"] == "Read" and shown["read"] is not None


def test_reading_twice_writes_read_once(client, sender, tokens, db):
    [cid] = create(client, sender)
    publish_now(db)
    me = recipient_headers(tokens)
    assert content(client, cid, me).status_code == 200
    assert content(client, cid, me).get_data(as_text=True) == BODY
    assert statuses_of(db, cid).count(S.Read) == 1
    assert fetched_count(db, cid) == 1  # the overview's 15 s debounce
    assert_error(action(client, cid, "markasread", me), 400, 1040)


def test_a_client_can_confirm_and_purge_after_reading_the_content(client, sender, tokens, db):
    [cid] = create(client, sender)
    publish_now(db)
    me = recipient_headers(tokens)
    assert content(client, cid, me).status_code == 200  # no overview call before
    assert action(client, cid, "confirm", me).get_json() == cid
    assert action(client, cid, "purge", me).get_json() == cid
    assert_error(content(client, cid, me), 404, 1001)  # purged: gone, as the overview


def test_an_organization_recipient_reads_too(client, sender, tokens, db):
    [cid] = create(client, sender, recipients=[ORG_RECIPIENT])
    publish_now(db)
    org = tokens.headers(org=ORG_RECIPIENT.rsplit(":", 1)[1], scopes=(READ,))
    assert content(client, cid, org).get_data(as_text=True) == BODY
    assert S.Read in statuses_of(db, cid)


def test_more_than_three_reply_options_are_appended_as_in_the_overview(client, sender, tokens, db):
    options = [{"linkURL": f"https://example.no/{i}", "linkText": f"Valg {i}"} for i in range(4)]
    [cid] = create(client, sender, replyOptions=options)
    publish_now(db)
    me = recipient_headers(tokens)
    text = content(client, cid, me).get_data(as_text=True)
    assert text.startswith(BODY + "\n\nSvarvalg:\nValg 0: https://example.no/0")
    assert text == overview(client, cid, me).get_json()["content"]["messageBody"]


def test_not_published_unknown_or_someone_elses_is_404_1001(client, sender, tokens, db):
    [cid] = create(client, sender)
    me = recipient_headers(tokens)
    assert_error(content(client, cid, me), 404, 1001)  # not published yet
    publish_now(db)
    assert_error(content(client, str(uuid.uuid4()), me), 404, 1001)
    assert_error(content(client, cid, recipient_headers(tokens, pid="07827199405")), 404, 1001)
    sender_reading = tokens.headers(org=SENDER_ORG, scopes=(READ,))  # the sender, not a recipient
    assert_error(content(client, cid, sender_reading), 404, 1001)
    assert S.Read not in statuses_of(db, cid) and fetched_count(db, cid) == 0


def test_recipient_policy_401_and_403(client, sender, tokens, db):
    [cid] = create(client, sender)
    assert content(client, cid, {}).status_code == 401
    resp = content(client, cid, tokens.headers(scopes=(WRITE,)))  # the sender's write token
    assert resp.status_code == 403 and resp.get_json()["status"] == 403
