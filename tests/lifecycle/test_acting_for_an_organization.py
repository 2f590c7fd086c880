"""People who act for an organization (DESIGN.md §4): the registry's access entries, the local
stand-in for Altinn Authorization. A person with an ID-porten token and an entry for the recipient
organization reads and handles its mail as the organization's recipient; anyone else gets 404."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.db.repositories.access import upsert_access
from app.domain.access import AccessGrant
from app.domain.enums import CorrespondenceStatus as S
from tests.api.helpers import URL, assert_error, details, ok, overview
from tests.attachments.helpers import entry, form_fields, post_multipart
from tests.conftest import READ, WRITE
from tests.factories import ORG_RECIPIENT
from tests.lifecycle.helpers import action, create, publish_now
from tests.lifecycle.test_search import iso, search

COMPANY = ORG_RECIPIENT.rsplit(":", 1)[1]
EVERYTHING = "12038513735"  # may act for the company on every resource
ONE_RESOURCE = "01017012345"  # may act for it on confidential-service only
NOBODY = "29029012345"  # has no access entry
PERSON_URN = "urn:altinn:person:identifier-no:"


@pytest.fixture(autouse=True)
def grants(db):
    with db.transaction() as conn:
        upsert_access(
            conn,
            [
                AccessGrant(EVERYTHING, COMPANY, frozenset({"*"})),
                AccessGrant(ONE_RESOURCE, COMPANY, frozenset({"confidential-service"})),
            ],
        )


def person(tokens, pid: str, *scopes: str) -> dict[str, str]:
    """An ID-porten person token: `pid`, no organization."""
    return tokens.headers(org=None, pid=pid, scopes=scopes or (READ,), acr="idporten-loa-substantial")


def party_of(db, cid: str, status: S) -> list[str | None]:
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT party_urn FROM correspondence_statuses WHERE correspondence_id = %s AND status = %s",
            (uuid.UUID(cid), int(status)),
        ).fetchall()
    return [r["party_urn"] for r in rows]


def test_a_person_with_access_reads_and_handles_the_organizations_mail(client, sender, tokens, db):
    [cid] = create(
        client, sender, [ORG_RECIPIENT], isConfirmationNeeded=True, dueDateTime=iso(timedelta(days=3))
    )
    publish_now(db)
    me = person(tokens, EVERYTHING)
    assert overview(client, cid, me).status_code == 200
    view = details(client, cid, me).get_json()
    assert view["recipient"] == ORG_RECIPIENT
    assert "Fetched" in [h["status"] for h in view["statusHistory"]]
    assert client.get(f"{URL}/{cid}/content", headers=me).status_code == 200
    assert action(client, cid, "markasread", me).status_code in (200, 400)  # content marked it read
    assert ok(action(client, cid, "confirm", me)) == cid
    assert ok(action(client, cid, "purge", me)) == cid
    # The status history records which person acted.
    for status in (S.Read, S.Confirmed, S.PurgedByRecipient):
        assert party_of(db, cid, status) == [PERSON_URN + EVERYTHING], status


def test_anyone_else_gets_404_as_strangers_do(client, sender, tokens, db):
    [cid] = create(client, sender, [ORG_RECIPIENT])
    publish_now(db)
    for pid in (NOBODY, ONE_RESOURCE):  # no entry; an entry for another resource
        them = person(tokens, pid)
        assert_error(overview(client, cid, them), 404, 1001)
        assert_error(details(client, cid, them), 404, 1001)
        assert_error(client.get(f"{URL}/{cid}/content", headers=them), 404, 1001)
        for name in ("markasread", "confirm", "purge"):
            assert_error(action(client, cid, name, them), 404, 1001)


def test_access_for_one_resource_covers_that_resource(client, sender, tokens, db):
    [cid] = create(client, sender, [ORG_RECIPIENT], resourceId="confidential-service", isConfidential=True)
    publish_now(db)
    assert details(client, cid, person(tokens, ONE_RESOURCE)).status_code == 200


def test_a_removed_access_entry_no_longer_reads(client, sender, tokens, db):
    pid = "15028512345"
    with db.transaction() as conn:
        upsert_access(conn, [AccessGrant(pid, COMPANY, frozenset({"*"}))])
    [cid] = create(client, sender, [ORG_RECIPIENT])
    publish_now(db)
    assert details(client, cid, person(tokens, pid)).status_code == 200
    with db.transaction() as conn:
        upsert_access(conn, [AccessGrant(pid, COMPANY, frozenset())])
    assert_error(details(client, cid, person(tokens, pid)), 404, 1001)


@pytest.mark.parametrize("on_behalf_of", [ORG_RECIPIENT, f"0192:{COMPANY}"])
def test_a_person_with_access_searches_on_behalf_of_the_organization(
    client, sender, tokens, db, on_behalf_of
):
    reference = f"acting-{uuid.uuid4().hex[:8]}"
    ids = create(client, sender, [ORG_RECIPIENT], sendersReference=reference)
    publish_now(db)
    found = search(
        client,
        person(tokens, EVERYTHING),
        role="Recipient",
        onBehalfOf=on_behalf_of,
        sendersReference=reference,
    )
    assert found.get_json() == {"ids": ids}
    refused = search(
        client, person(tokens, NOBODY), role="Recipient", onBehalfOf=on_behalf_of, sendersReference=reference
    )
    assert_error(refused, 401, 4001)
    other_resource = search(
        client,
        person(tokens, ONE_RESOURCE),
        role="Recipient",
        onBehalfOf=on_behalf_of,
        sendersReference=reference,
    )
    assert_error(other_resource, 401, 4001)  # the search is for test-service


def test_a_person_with_access_downloads_the_organizations_attachment(client, sender, tokens, db):
    fields = form_fields([ORG_RECIPIENT], [entry("brev.pdf")])
    answer = ok(post_multipart(client, sender, fields, [("brev.pdf", b"%PDF-1.7 acting")]))
    cid, [attachment] = answer["correspondences"][0]["correspondenceId"], answer["attachmentIds"]
    publish_now(db)
    url = f"{URL}/{cid}/attachment/{attachment}/download"
    got = client.get(url, headers=person(tokens, EVERYTHING))
    assert got.status_code == 200 and got.data == b"%PDF-1.7 acting"
    assert party_of(db, cid, S.AttachmentsDownloaded) == [PERSON_URN + EVERYTHING]
    assert_error(client.get(url, headers=person(tokens, NOBODY)), 404, 1001)


def test_acting_for_an_organization_is_a_recipients_right_only(client, sender, tokens, db):
    """A person with an access entry does not send for the organization (not modelled)."""
    [cid] = create(client, sender, [ORG_RECIPIENT])
    both = person(tokens, EVERYTHING, READ, WRITE)
    view = details(client, cid, both)
    assert_error(view, 404, 1001)  # not yet published: not visible to the recipient side
    publish_now(db)
    assert details(client, cid, both).status_code == 200
