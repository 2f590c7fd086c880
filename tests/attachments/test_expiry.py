"""The expire-attachment job (SPEC.md §1.7, §4.7): Expired only when every live link has expired."""

from __future__ import annotations

from app.domain.enums import AttachmentStatus as A
from app.storage import storage_from_settings
from app.usecases.publish_correspondences import expire_attachments
from tests.api.helpers import assert_error, ok, post
from tests.attachments.helpers import attachment_statuses, stored, uploaded_attachment
from tests.factories import initialize_request
from tests.lifecycle.helpers import publish_now, recipient_headers


def link(client, sender, attachment_id: str) -> str:
    body = initialize_request(["urn:altinn:person:identifier-no:08900499559"])
    body["existingAttachments"] = [attachment_id]
    return ok(post(client, body, sender))["correspondences"][0]["correspondenceId"]


def expire_links(db, attachment_id: str, correspondence_id: str | None = None) -> None:
    with db.transaction() as conn:
        conn.execute(
            """UPDATE initialization_attachments ca SET expiration_time = now() - interval '1 minute'
                        FROM correspondences c WHERE c.initialization_id = ca.initialization_id
                        AND ca.attachment_id = %s AND (%s::uuid IS NULL OR c.id = %s::uuid)""",
            (attachment_id, correspondence_id, correspondence_id),
        )


def test_attachment_expires_when_every_link_has_expired(client, sender, tokens, db, app):
    attachment = uploaded_attachment(client, sender, expirationInDays=1)
    first, second = link(client, sender, attachment), link(client, sender, attachment)
    publish_now(db)
    storage = storage_from_settings(app.extensions["correspondence"].settings)
    expire_links(db, attachment, first)
    expire_attachments(db, storage)
    assert attachment_statuses(db, attachment)[-1][0] == A.Published  # the second link is still alive
    expire_links(db, attachment)
    assert expire_attachments(db, storage) >= 1
    assert attachment_statuses(db, attachment)[-1] == (A.Expired, "The attachment has expired")
    assert not stored(app, attachment)
    me = recipient_headers(tokens)
    download = client.get(
        f"/correspondence/api/v1/correspondence/{second}/attachment/{attachment}/download", headers=me
    )
    assert_error(download, 400, 2020)


def test_a_link_without_expiration_keeps_the_attachment(client, sender, db, app):
    attachment = uploaded_attachment(client, sender)  # no expirationInDays: links never expire
    link(client, sender, attachment)
    expire_attachments(db, storage_from_settings(app.extensions["correspondence"].settings))
    assert attachment_statuses(db, attachment)[-1][0] == A.Published
