"""existingAttachments on Initialize (SPEC.md §4.1 steps 15–18) and the initial status rule (§1.3)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.db.repositories import correspondences as correspondence_repo
from app.domain.enums import AttachmentStatus as A
from app.domain.enums import CorrespondenceStatus as S
from app.schemas.initialize import InitializeCorrespondencesRequestSchema
from app.security.identity import Caller
from app.usecases.initialize_correspondences import (
    InitializeOptions,
    NewAttachment,
    initialize_correspondences,
)
from app.usecases.publish_correspondences import publish_due
from tests.api.helpers import assert_error, insert_attachment, ok, post
from tests.attachments.helpers import uploaded_attachment
from tests.conftest import OTHER_ORG, SENDER_ORG, WRITE
from tests.factories import ORG_RECIPIENT, PERSON_RECIPIENT, initialize_request


def with_existing(*ids: str, recipients: list[str] | None = None, **correspondence):
    body = initialize_request(recipients, **correspondence)
    body["existingAttachments"] = list(ids)
    return body


def set_link_expiration(
    db, attachment_id: str, sql_interval: str | None, correspondence_id: str | None = None
):
    """Move the expiration of the attachment's links (of one correspondence, or all) to now + interval."""
    with db.transaction() as conn:
        conn.execute(
            """UPDATE initialization_attachments ca
               SET expiration_time = CASE WHEN %(interval)s::interval IS NULL THEN NULL
                                          ELSE now() + %(interval)s::interval END
               FROM correspondences c
               WHERE c.initialization_id = ca.initialization_id AND ca.attachment_id = %(attachment)s
                 AND (%(correspondence)s::uuid IS NULL OR c.id = %(correspondence)s::uuid)""",
            {
                "interval": sql_interval,
                "attachment": uuid.UUID(attachment_id),
                "correspondence": uuid.UUID(correspondence_id) if correspondence_id else None,
            },
        )


def test_1055_existing_attachment_expiring_within_6_hours(client, sender, db):
    attachment = uploaded_attachment(client, sender)
    ok(post(client, with_existing(attachment), sender))
    set_link_expiration(db, attachment, "5 hours")
    assert_error(post(client, with_existing(attachment), sender), 400, 1055)
    set_link_expiration(db, attachment, "7 hours")
    ok(post(client, with_existing(attachment), sender))


def test_1055_ignores_purged_correspondences_and_links_that_never_expire(client, sender, db):
    attachment = uploaded_attachment(client, sender)
    # Links belong to an Initialize (all its recipients share them): three Initializes, three links.
    first, second, _ = (
        ok(post(client, with_existing(attachment, recipients=[r]), sender))["correspondences"][0][
            "correspondenceId"
        ]
        for r in (ORG_RECIPIENT, PERSON_RECIPIENT, f"urn:altinn:organization:identifier-no:{OTHER_ORG}")
    )
    set_link_expiration(db, attachment, "1 hour")
    assert_error(post(client, with_existing(attachment), sender), 400, 1055)

    assert (
        client.delete(f"/correspondence/api/v1/correspondence/{first}/purge", headers=sender).status_code
        == 200
    )
    set_link_expiration(db, attachment, "30 days", correspondence_id=first)  # purged: does not count
    assert_error(post(client, with_existing(attachment), sender), 400, 1055)

    set_link_expiration(db, attachment, None, correspondence_id=second)  # never expires: keeps it alive
    ok(post(client, with_existing(attachment), sender))


def test_1069_uses_the_uploaded_sizes(client, sender):
    big = uploaded_attachment(client, sender, data=b"x" * 6_000_000)
    other = uploaded_attachment(client, sender, data=b"y" * 4_000_001)
    assert_error(post(client, with_existing(big, other, allowForwarding=True), sender), 400, 1069)
    ok(post(client, with_existing(big, allowForwarding=True), sender))


def test_expiration_time_of_each_link_comes_from_the_attachment(client, sender, db):
    attachment = uploaded_attachment(client, sender, expirationInDays=3)
    answer = ok(post(client, with_existing(attachment), sender))
    assert answer["attachmentIds"] == [attachment]
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT expiration_time FROM initialization_attachments WHERE attachment_id = %s",
            (uuid.UUID(attachment),),
        ).fetchone()
    days = (row["expiration_time"] - datetime.now(UTC)).total_seconds() / 86400
    assert 2.99 < days <= 3


class _NotYetPublished:
    """Uploads whose attachment is still being processed (as with a malware scan)."""

    def __init__(self, db) -> None:
        self.db = db

    def sizes(self):
        return [1]

    def validate(self, entries):
        pass

    def store(self, entries, resource):
        attachment_id = insert_attachment(self.db, status=int(A.UploadProcessing))
        return [NewAttachment(uuid.UUID(attachment_id), None, published=False)]


def test_correspondence_stays_initialized_until_every_attachment_is_published(db):
    caller = Caller(scopes=frozenset({WRITE}), organization=SENDER_ORG, pid=None, subject=None)
    raw = initialize_request()
    raw["correspondence"]["content"]["attachments"] = [{"fileName": "a.txt", "sendersReference": "a"}]
    request = InitializeCorrespondencesRequestSchema().load(raw)
    result = initialize_correspondences(
        db, caller, request, InitializeOptions(), uploads=_NotYetPublished(db)
    )
    [created] = result.correspondences
    assert created.status == S.Initialized
    with db.transaction() as conn:
        statuses = [
            r["status"]
            for r in conn.execute(
                "SELECT status FROM correspondence_statuses WHERE correspondence_id = %s",
                (created.correspondence_id,),
            )
        ]
    assert statuses == []  # Initialized is derived from the Initialize, not stored
    with db.transaction() as conn:
        assert correspondence_repo.status_sets(conn, [created.correspondence_id]) == {
            created.correspondence_id: {S.Initialized}
        }
    while publish_due(db).jobs:  # the publish job waits for the attachment
        pass
    with db.transaction() as conn:
        assert (
            conn.execute(
                "SELECT 1 FROM publication_queue q JOIN correspondences c "
                "ON c.initialization_id = q.initialization_id WHERE c.id = %s AND q.due_at > now()",
                (created.correspondence_id,),
            ).fetchone()
            is not None
        )
