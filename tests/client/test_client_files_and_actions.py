"""The client library: multipart Initialize, shared attachments, and the recipient's actions, over HTTP."""

from __future__ import annotations

import hashlib

from correspondence_client import (
    AttachmentMetadata,
    Content,
    Correspondence,
    InitializeAttachment,
    InitializeRequest,
)
from tests.client.conftest import count_by_recipient, publish_now, unique_reference
from tests.conftest import READ
from tests.factories import ORG_RECIPIENT, PERSON_RECIPIENT
from tests.lifecycle.helpers import PERSON_PID

MARKASREAD = "/correspondence/api/v1/correspondence/{}/markasread"
UPLOAD = "/correspondence/api/v1/correspondence/upload"


def test_initialize_with_files_is_multipart_and_idempotent(make_client, service, db, tmp_path):
    _, faults = service
    path = tmp_path / "vedtak.pdf"
    path.write_bytes(b"%PDF-1.4 vedtak")
    reference = unique_reference()
    request = InitializeRequest(
        correspondence=Correspondence(
            resource_id="test-service",
            senders_reference=reference,
            property_list={"Saksnr": "2030/1"},
            content=Content(
                message_title="Vedtak",
                message_body="Se vedlegg",
                attachments=[
                    AttachmentMetadata(
                        file_name="vedtak.pdf",
                        senders_reference="v-1",
                        checksum=hashlib.md5(b"%PDF-1.4 vedtak").hexdigest(),
                    ),
                    AttachmentMetadata(file_name="notat.txt", senders_reference="n-1"),
                ],
            ),
        ),
        recipients=[ORG_RECIPIENT],
    )
    faults.add(("POST", UPLOAD), ("lose", 502))  # the first answer is lost: the retry must not store twice
    client = make_client()
    answer = client.initialize_with_files(request, [("vedtak.pdf", path), ("notat.txt", b"notat")])
    assert answer.recovered and len(answer.correspondences) == 1
    assert count_by_recipient(db, reference) == {ORG_RECIPIENT: 1}
    details = client.get_details(answer.correspondences[0].correspondence_id)
    assert sorted(a.file_name for a in details.content.attachments) == ["notat.txt", "vedtak.pdf"]
    assert details.property_list == {"Saksnr": "2030/1"}
    fresh = client.initialize_with_files(
        request.with_changes(recipients=[PERSON_RECIPIENT]), [("vedtak.pdf", path), ("notat.txt", b"notat")]
    )
    assert not fresh.recovered and len(fresh.attachment_ids) == 2


def test_shared_attachment_upload_link_and_download(make_client, service, tmp_path):
    _, faults = service
    client = make_client()
    attachment_id = client.initialize_attachment(
        InitializeAttachment(resource_id="test-service", file_name="rapport.txt", senders_reference="r-1")
    )
    faults.add(("POST", f"/correspondence/api/v1/attachment/{attachment_id}/upload"), ("lose", 502))
    overview = client.upload_attachment(attachment_id, b"innhold " * 1000)  # lost answer: status decides
    assert overview.status == "Published" and overview.file_name == "rapport.txt"
    assert client.get_attachment_details(attachment_id).status_history[-1].status == "Published"
    target = tmp_path / "copy.txt"
    assert client.download_attachment(attachment_id, to=target) == 8000
    assert target.read_bytes() == b"innhold " * 1000
    answer = client.initialize(
        InitializeRequest(
            correspondence=Correspondence(
                resource_id="test-service",
                senders_reference=unique_reference(),
                content=Content(message_title="Rapport", message_body="Vedlagt"),
            ),
            recipients=[ORG_RECIPIENT, PERSON_RECIPIENT],
            existing_attachments=[attachment_id],
        )
    )
    assert answer.attachment_ids == [attachment_id]
    assert set(client.get_attachment(attachment_id).correspondence_ids) == {
        c.correspondence_id for c in answer.correspondences
    }


def test_recipient_reads_confirms_forwards_and_purges(make_client, service, tokens, db):
    _, faults = service
    sender = make_client()
    answer = sender.initialize(
        InitializeRequest(
            correspondence=Correspondence(
                resource_id="test-service",
                senders_reference=unique_reference(),
                allow_forwarding=True,
                is_confirmation_needed=False,
                content=Content(message_title="Brev", message_body="Hei **Kari**"),
            ),
            recipients=[PERSON_RECIPIENT],
        )
    )
    cid = answer.correspondences[0].correspondence_id
    publish_now(db)
    me = make_client(token=tokens.make(org=None, pid=PERSON_PID, scopes=(READ,)))
    assert me.search("test-service", role="Recipient").count(cid) == 1
    assert me.get_overview(cid).status == "Published"
    faults.add(("POST", MARKASREAD.format(cid)), ("lose", 502))
    assert me.mark_as_read(cid) == cid  # the lost answer's 1040 on the retry means it was done
    assert me.get_content(cid) == "Hei **Kari**"
    assert me.confirm(cid) == cid
    event = me.forward(cid, "ola@example.no", "Se denne")
    assert event is not None
    statuses = [s.status for s in me.get_details(cid).status_history]
    assert {"Read", "Confirmed", "Forwarded"} <= set(statuses)
    assert me.purge(cid) == cid
    assert "PurgedByRecipient" in [s.status for s in me.get_details(cid).status_history]
