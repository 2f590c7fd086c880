"""Every numbered error and validation problem of POST /correspondence/api/v1/correspondence.

SPEC.md §3.2, §4.1–§4.4, §4.8, §4.10, §5.1–§5.2, §7.4. Each request is valid except for the one
defect under test, so each test fails if its rule is missing (the next rule, if any, gives another code).
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import pytest

from app.db.repositories.templates import forget_templates
from tests.api.helpers import (
    FULL_NOTIFICATION,
    assert_error,
    assert_validation,
    count_all_tables,
    insert_attachment,
    ok,
    org_urn,
    post,
)
from tests.conftest import OTHER_ORG
from tests.factories import (
    ORG_RECIPIENT,
    PERSON_RECIPIENT,
    RESERVED_PERSON,
    initialize_request,
    iso,
    with_content,
)

DIALOG_ID = "DialogportenDialogId"
TRANSMISSION_TYPE = "DialogportenTransmissionType"


def notification(**changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(FULL_NOTIFICATION)
    result.update(changes)
    return result


def dialog_ref(value: str | None = None) -> dict[str, str]:
    return {"referenceType": DIALOG_ID, "referenceValue": value or str(uuid.uuid4())}


# ---------------------------------------------------------------- controls: the base bodies pass


def test_base_request_and_full_notification_are_accepted(client, sender):
    ok(post(client, initialize_request(notification=notification()), sender))
    body = initialize_request(
        notification=notification(customRecipients=[{"emailAddress": "ola@example.no"}])
    )
    ok(post(client, body, sender))


# ---------------------------------------------------------------- 1xxx: correspondence rules


@pytest.mark.parametrize(
    "code, content",
    [
        (1002, {"messageTitle": "# Overskrift"}),
        (1003, {"messageBody": "<h1>Hei</h1>"}),
        (1005, {"attachments": [{"fileName": "vedlegg.txt", "sendersReference": "v-1"}]}),
        (1023, {"language": "de"}),
    ],
    ids=["1002-title-not-plain", "1003-body-html", "1005-attachments-on-json", "1023-language"],
)
def test_content_rules(client, sender, code, content):
    assert_error(post(client, with_content(initialize_request(), **content), sender), 400, code)


def test_1006_duplicate_recipients_after_normalization(client, sender):
    body = initialize_request(["0192:313721779", ORG_RECIPIENT])
    assert_error(post(client, body, sender), 400, 1006)


def test_1007_unknown_existing_attachment(client, sender):
    body = initialize_request()
    body["existingAttachments"] = [str(uuid.uuid4())]
    assert_error(post(client, body, sender), 400, 1007)


def with_existing(*ids: str, **correspondence: Any) -> dict[str, Any]:
    body = initialize_request(**correspondence)
    body["existingAttachments"] = list(ids)
    return body


def test_1017_existing_attachment_of_another_sender(client, sender, db):
    theirs = insert_attachment(db, sender_org=OTHER_ORG, resource_id="other-owner-service")
    assert_error(post(client, with_existing(theirs), sender), 400, 1017)


def test_1018_existing_attachment_not_published(client, sender, db):
    assert_error(post(client, with_existing(insert_attachment(db, status=0)), sender), 400, 1018)


def test_1038_more_than_100_attachments(client, sender, db):
    ids = [insert_attachment(db) for _ in range(101)]
    assert_error(post(client, with_existing(*ids), sender), 400, 1038)
    ok(post(client, with_existing(*ids[:100]), sender))


def test_1069_forwarding_with_more_than_10_mb(client, sender, db):
    big = insert_attachment(db, size=10_000_001)
    assert_error(post(client, with_existing(big, allowForwarding=True), sender), 400, 1069)
    ok(post(client, with_existing(insert_attachment(db, size=10_000_000), allowForwarding=True), sender))


def test_1008_due_date_in_the_past(client, sender):
    body = initialize_request(dueDateTime=iso(timedelta(days=-1)))
    assert_error(post(client, body, sender), 400, 1008)


def test_1009_due_date_before_publish_time(client, sender):
    body = initialize_request(
        requestedPublishTime=iso(timedelta(days=10)), dueDateTime=iso(timedelta(days=5))
    )
    assert_error(post(client, body, sender), 400, 1009)


def test_1016_confirmation_needs_due_date(client, sender):
    assert_error(post(client, initialize_request(isConfirmationNeeded=True), sender), 400, 1016)


def test_1029_unknown_recipient_when_register_is_required(app, settings, tokens):
    from app.web import create_app

    strict = create_app(dataclasses.replace(settings, require_known_recipients=True))
    strict.testing = True
    client = strict.test_client()
    unknown = org_urn(999999998)
    resp = post(client, initialize_request([ORG_RECIPIENT, unknown]), tokens.headers())
    assert unknown in assert_error(resp, 404, 1029)["detail"]
    ok(post(client, initialize_request([ORG_RECIPIENT, PERSON_RECIPIENT]), tokens.headers()))


def test_1030_single_reserved_person(client, sender):
    resp = post(client, initialize_request([RESERVED_PERSON]), sender)
    assert RESERVED_PERSON in assert_error(resp, 422, 1030)["detail"]


def test_1030_reserved_among_several_gets_status_reserved(client, sender):
    body = ok(post(client, initialize_request([RESERVED_PERSON, PERSON_RECIPIENT]), sender))
    assert [(c["recipient"], c["status"]) for c in body["correspondences"]] == [
        (RESERVED_PERSON, "Reserved"),
        (PERSON_RECIPIENT, "ReadyForPublish"),
    ]


def test_1030_not_raised_when_reservation_is_ignored(client, sender):
    body = ok(post(client, initialize_request([RESERVED_PERSON], ignoreReservation=True), sender))
    assert body["correspondences"][0]["status"] == "ReadyForPublish"


def test_1034_same_idempotent_key_twice(client, sender):
    key = str(uuid.uuid4())
    body = initialize_request()
    body["idempotentKey"] = key
    ok(post(client, body, sender))
    assert_error(post(client, body, sender), 409, 1034)


def test_1034_failed_request_does_not_consume_the_key(client, sender):
    key = str(uuid.uuid4())
    bad = with_content(initialize_request(), language="de")
    bad["idempotentKey"] = key
    assert_error(post(client, bad, sender), 400, 1023)
    good = initialize_request()
    good["idempotentKey"] = key
    ok(post(client, good, sender))


def test_1035_reply_option_must_be_https(client, sender):
    body = initialize_request(replyOptions=[{"linkURL": "http://example.com/svar", "linkText": "Svar"}])
    assert_error(post(client, body, sender), 400, 1035)


def test_1036_unknown_resource(client, sender):
    assert_error(post(client, initialize_request(resourceId="no-such-resource"), sender), 400, 1036)


def test_1039_message_sender_must_be_plain_text(client, sender):
    assert_error(post(client, initialize_request(messageSender="<b>Avsender</b>"), sender), 400, 1039)


def test_1045_transmission_with_several_recipients(client, sender):
    body = initialize_request([ORG_RECIPIENT, PERSON_RECIPIENT], externalReferences=[dialog_ref()])
    assert_error(post(client, body, sender), 400, 1045)


def test_1047_idempotent_key_with_several_recipients(client, sender):
    body = initialize_request([ORG_RECIPIENT, PERSON_RECIPIENT])
    body["idempotentKey"] = str(uuid.uuid4())
    assert_error(post(client, body, sender), 400, 1047)


def test_1048_dialog_id_must_be_a_guid(client, sender):
    body = initialize_request(externalReferences=[dialog_ref("not-a-guid")])
    assert_error(post(client, body, sender), 400, 1048)


def test_1051_transmission_with_reply_options(client, sender):
    body = initialize_request(
        externalReferences=[dialog_ref()],
        replyOptions=[{"linkURL": "https://example.com", "linkText": "Svar"}],
    )
    assert_error(post(client, body, sender), 400, 1051)


def test_1052_two_transmission_types(client, sender):
    refs = [
        dialog_ref(),
        {"referenceType": TRANSMISSION_TYPE, "referenceValue": "Information"},
        {"referenceType": TRANSMISSION_TYPE, "referenceValue": "Alert"},
    ]
    assert_error(post(client, initialize_request(externalReferences=refs), sender), 400, 1052)


def test_1053_transmission_type_without_dialog_id(client, sender):
    refs = [{"referenceType": TRANSMISSION_TYPE, "referenceValue": "Information"}]
    assert_error(post(client, initialize_request(externalReferences=refs), sender), 400, 1053)


def test_1054_unknown_dialog(client, sender):
    body = initialize_request(externalReferences=[dialog_ref()])
    assert_error(post(client, body, sender), 404, 1054)


def test_1054_app_resource_is_allowed_as_transmission(client, sender):
    body = initialize_request(resourceId="app-resource", externalReferences=[dialog_ref()])
    assert_error(post(client, body, sender), 404, 1054)


def test_1060_confidential_resource_needs_flag(client, sender):
    assert_error(post(client, initialize_request(resourceId="confidential-service"), sender), 400, 1060)
    ok(post(client, initialize_request(resourceId="confidential-service", isConfidential=True), sender))


def test_1061_confidential_flag_on_ordinary_resource(client, sender):
    assert_error(post(client, initialize_request(isConfidential=True), sender), 400, 1061)
    ok(post(client, initialize_request(resourceId="explicit-service", isConfidential=True), sender))


def test_1068_forwarding_with_auth_level(client, sender):
    body = initialize_request(resourceId="authlevel-service", allowForwarding=True)
    assert_error(post(client, body, sender), 400, 1068)
    ok(post(client, initialize_request(resourceId="authlevel-service"), sender))


# ---------------------------------------------------------------- 3xxx: notification rules


def test_3001_template_missing_for_language(client, sender, db):
    with db.transaction() as conn:
        saved = conn.execute(
            "SELECT * FROM notification_templates WHERE template = 1 AND language = 'en' ORDER BY id"
        ).fetchall()
        conn.execute("DELETE FROM notification_templates WHERE template = 1 AND language = 'en'")
    forget_templates()  # this process keeps the rows a minute: they come with the schema
    assert saved
    try:
        body = with_content(
            initialize_request(notification=notification(notificationTemplate="GenericAltinnMessage")),
            language="en",
        )
        assert_error(post(client, body, sender), 404, 3001)
    finally:
        with db.transaction() as conn:
            for row in saved:
                columns = list(row)
                conn.execute(
                    f"INSERT INTO notification_templates ({', '.join(columns)}) "
                    f"VALUES ({', '.join(['%s'] * len(columns))})",
                    [row[c] for c in columns],
                )
        forget_templates()
    ok(post(client, body, sender))


@pytest.mark.parametrize(
    "code, changes",
    [
        (3002, {"notificationChannel": "Email", "emailBody": None}),
        (3003, {"notificationChannel": "Email", "reminderEmailSubject": ""}),
        (3004, {"notificationChannel": "Sms", "smsBody": None}),
        (3005, {"notificationChannel": "Sms", "reminderSmsBody": None}),
        (3006, {"notificationChannel": "EmailPreferred", "smsBody": ""}),
        (3007, {"notificationChannel": "SmsPreferred", "reminderEmailBody": None}),
        (3024, {"notificationChannel": "EmailAndSms", "emailSubject": None}),
        (3025, {"notificationChannel": "EmailAndSms", "reminderSmsBody": None}),
    ],
    ids=lambda v: str(v) if isinstance(v, int) else None,
)
def test_notification_content_rules(client, sender, code, changes):
    body = initialize_request(notification=notification(**changes))
    assert_error(post(client, body, sender), 400, code)


@pytest.mark.parametrize(
    "code, recipient, changes",
    [
        (3011, {"emailAddress": "not-an-email"}, {}),
        (3012, {"mobileNumber": "12345678"}, {}),
        (3015, {"emailAddress": "ola@example.no"}, {"emailBody": "Hei $recipientName$"}),
        (3018, {"emailAddress": "ola@example.no", "mobileNumber": "+4798765432"}, {}),
        (3019, {"isReserved": False}, {}),
    ],
    ids=["3011", "3012", "3015", "3018", "3019"],
)
def test_custom_recipient_rules(client, sender, code, recipient, changes):
    body = initialize_request(notification=notification(customRecipients=[recipient], **changes))
    assert_error(post(client, body, sender), 400, code)


def test_3017_custom_recipient_with_several_recipients(client, sender):
    body = initialize_request(
        [ORG_RECIPIENT, PERSON_RECIPIENT],
        notification=notification(customRecipients=[{"emailAddress": "ola@example.no"}]),
    )
    assert_error(post(client, body, sender), 400, 3017)


def test_3022_override_without_custom_recipients(client, sender):
    body = initialize_request(notification=notification(overrideRegisteredContactInformation=True))
    assert_error(post(client, body, sender), 400, 3022)


def test_3023_undefined_template_number_is_a_bare_string(client, sender):
    resp = post(client, initialize_request(notification=notification(notificationTemplate=5)), sender)
    assert resp.status_code == 400
    assert resp.get_json() == "Invalid notification template"


# ---------------------------------------------------------------- 4xxx: authorization


def test_4001_caller_does_not_own_resource(client, sender):
    resp = post(client, initialize_request(resourceId="other-owner-service"), sender)
    assert_error(resp, 401, 4001)
    assert resp.headers.get("WWW-Authenticate") == "Bearer"


@pytest.mark.parametrize("resource", ["generic-resource", "app-resource"])
def test_4010_unsupported_resource_type(client, sender, resource):
    assert_error(post(client, initialize_request(resourceId=resource), sender), 400, 4010)


# ---------------------------------------------------------------- validation problems (no errorCode)


def test_empty_recipients(client, sender):
    assert_validation(
        post(client, initialize_request([]), sender), "Recipients can not be empty", "Recipients"
    )


def test_more_than_500_recipients(client, sender):
    body = initialize_request([org_urn(100000000 + i) for i in range(501)])
    assert_validation(
        post(client, body, sender), "Recipients can contain at most 500 recipients", "Recipients"
    )


def test_plain_nine_digit_org_recipient(client, sender):
    resp = post(client, initialize_request(["313721779"]), sender)
    assert_validation(resp, "Recipient should be an organization number in the format")


def test_bad_ssn_checksum(client, sender):
    resp = post(client, initialize_request(["urn:altinn:person:identifier-no:08900499558"]), sender)
    assert_validation(resp, "The given Recipient national identity number is not valid")


def test_language_of_three_characters(client, sender):
    resp = post(client, with_content(initialize_request(), language="nob"), sender)
    assert_validation(resp, "The ISO6391 field must be exactly 2 characters long!")


def test_blank_title(client, sender):
    resp = post(client, with_content(initialize_request(), messageTitle="   "), sender)
    assert_validation(resp, "The messageTitle field is required.")


def test_missing_content(client, sender):
    body = initialize_request()
    del body["correspondence"]["content"]
    assert_validation(post(client, body, sender), path="Correspondence.Content")


def test_empty_guid_idempotent_key(client, sender):
    body = initialize_request()
    body["idempotentKey"] = str(uuid.UUID(int=0))
    assert_validation(post(client, body, sender), "The idempotency key must be a valid non-empty GUID")


def test_more_than_10_external_references(client, sender):
    refs = [{"referenceType": "Generic", "referenceValue": f"r{i}"} for i in range(11)]
    resp = post(client, initialize_request(externalReferences=refs), sender)
    assert_validation(resp, "externalReferences can contain at most 10 references")


def test_more_than_10_properties(client, sender):
    resp = post(client, initialize_request(propertyList={f"k{i}": "v" for i in range(11)}), sender)
    assert_validation(resp, "propertyList can contain at most 10 properties")


def test_invalid_json_body(client, sender):
    body = assert_validation(post(client, '{"correspondence": {"resourceId": ', sender))
    assert body["code"] == "STD-00000"


def test_non_json_content_type_is_415(client, sender):
    resp = post(client, "recipients=x", sender, content_type="text/plain")
    assert resp.status_code == 415
    assert "errorCode" not in (resp.get_json(silent=True) or {})


def test_1005_json_initialize_with_an_attachment_entry_even_when_its_file_name_has_a_nul(client, sender, db):
    body = initialize_request()
    body["correspondence"]["content"]["attachments"] = [{"fileName": "a\u0000.txt", "sendersReference": "a"}]
    before = count_all_tables(db)
    assert_error(post(client, body, sender), 400, 1005)
    assert count_all_tables(db) == before
