"""The Altinn Notifications request built for each order (SPEC.md §5.3–§5.4, DESIGN.md §6). No database.

Where the code and SPEC.md disagree, the test follows SPEC.md and is marked `xfail(strict=True)`
with the reason; the disagreements are reported with issue 16.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.domain.enums import EmailContentType
from app.domain.enums import NotificationChannel as Ch
from app.domain.notification_orders import build_orders, recorded_ids
from tests.unit.notification_data import (
    BASE,
    CONDITION,
    CORR_ID,
    DELAY,
    GENERIC_NB,
    NOW,
    ORG,
    ORG_URN,
    PERSON_URN,
    PUBLISH,
    RESOURCE,
    SSN,
    correspondence,
    expected_order_id,
    main_id,
    notification,
    orders,
    summary,
    with_notification,
)
from workers.gateways.altinn import order_request

EMAIL_SETTINGS = {"subject": "Subject", "body": "Body", "contentType": "Plain"}
SMS_SETTINGS = {"body": "Sms"}


def only(result):
    assert len(result) == 1
    return result[0]


def recipient_of(order) -> dict:
    ((kind, value),) = order_request(order)["recipient"].items()
    return {kind: value}


# --- organization -------------------------------------------------------------------------------


def test_organization_order_is_the_future_order_of_spec_5_4() -> None:
    order = only(orders())
    assert order_request(order) == {
        "sendersReference": "corr-ref-1",
        "requestedSendTime": PUBLISH.isoformat(),
        "conditionEndpoint": f"{CONDITION}/main",
        "dialogportenAssociation": None,
        "idempotencyId": main_id(f"org:{ORG}"),
        # channelSchema: the enum name (SPEC.md §5.4 says the .NET client sends a number, "uncertain")
        "recipient": {
            "recipientOrganization": {
                "orgNumber": ORG,
                "resourceId": RESOURCE,
                "channelSchema": "Email",
                "emailSettings": EMAIL_SETTINGS,
                "smsSettings": SMS_SETTINGS,
            }
        },
    }
    assert (order.id, order.correspondence_id, order.is_reminder) == (
        expected_order_id(CORR_ID, f"org:{ORG}:main"),
        CORR_ID,
        False,
    )
    assert (order.plan.kind, order.plan.value, order.template, order.channel) == (
        "organization",
        ORG,
        0,
        Ch.Email,
    )
    assert (order.email_subject, order.email_body, order.sms_body) == ("Subject", "Body", "Sms")
    assert (order.email_content_type, order.ignore_reservation, order.requested_send_time) == (
        0,
        None,
        PUBLISH,
    )


def test_iso6523_recipient_is_an_organization() -> None:
    order = only(orders(correspondence(f"0192:{ORG}")))
    assert recipient_of(order)["recipientOrganization"]["orgNumber"] == ORG


def test_send_time_is_the_later_of_now_and_publish_time() -> None:
    assert (
        order_request(only(orders(now=PUBLISH + timedelta(minutes=1))))["requestedSendTime"]
        == (PUBLISH + timedelta(minutes=1)).isoformat()
    )
    assert only(orders(now=PUBLISH - timedelta(minutes=1))).requested_send_time == PUBLISH


@pytest.mark.parametrize("channel", list(Ch))
def test_channel_schema_is_the_main_channel(channel: Ch) -> None:
    order = only(with_notification(notification_channel=int(channel)))
    assert order.channel == channel
    assert recipient_of(order)["recipientOrganization"]["channelSchema"] == channel.name


def test_missing_channel_means_email() -> None:
    assert only(with_notification(notification_channel=None)).channel == Ch.Email


def test_html_content_type() -> None:
    order = only(with_notification(email_content_type=int(EmailContentType.Html)))
    assert (
        order_request(order)["recipient"]["recipientOrganization"]["emailSettings"]["contentType"] == "Html"
    )
    assert order.email_content_type == EmailContentType.Html


def test_missing_content_type_means_plain() -> None:
    assert only(with_notification(email_content_type=None)).email_content_type == EmailContentType.Plain


@pytest.mark.parametrize(("template", "expected"), [(1, 1), (0, 0), (None, 0)])
def test_template_is_recorded(template, expected) -> None:
    assert only(with_notification(notification_template=template)).template == expected


# --- settings (SPEC.md §5.3 step 4) --------------------------------------------------------------


@pytest.mark.parametrize("blank", [{"email_subject": ""}, {"email_body": None}, {"email_subject": "   "}])
def test_email_settings_need_both_subject_and_body(blank) -> None:
    order = only(with_notification(**blank))
    assert "emailSettings" not in order_request(order)["recipient"]["recipientOrganization"]
    assert (order.email_subject, order.email_body) == (None, None)
    assert order_request(order)["recipient"]["recipientOrganization"]["smsSettings"] == SMS_SETTINGS


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_sms_settings_need_an_sms_body(blank) -> None:
    order = only(with_notification(sms_body=blank))
    assert "smsSettings" not in order_request(order)["recipient"]["recipientOrganization"]
    assert order.sms_body is None
    assert order_request(order)["recipient"]["recipientOrganization"]["emailSettings"] == EMAIL_SETTINGS


def test_generic_template_texts_are_filled_in() -> None:
    corr = correspondence(
        notification=notification(
            notification_template=1, email_subject=None, email_body="Frist 1. mai.", sms_body=None
        )
    )
    order = only(orders(corr, templates=GENERIC_NB))
    assert order.email_subject == "En melding har blitt mottatt i Altinn"
    assert order.email_body == (
        "Hei. Eksempel AS har mottatt en ny melding fra Digdir. Frist 1. mai. "
        "Logg deg inn i Altinn for å se denne meldingen."
    )
    # §5.3 step 1: "{textToken}" → "" + one space, then only the ends are trimmed
    assert order.sms_body == (
        "Hei. Eksempel AS har mottatt en ny melding fra Digdir.  "
        "Logg deg inn i Altinn for å se denne meldingen."
    )


def test_placeholders_of_the_request_text_are_replaced_but_recipient_name_is_left() -> None:
    order = only(
        with_notification(
            email_subject="$resourceName$: $messageTitle$",
            email_body="Til $recipientName$ fra $sendersName$ ($correspondenceRecipientName$)",
        )
    )
    assert order.email_subject == "Demotjeneste: Tittel"
    assert order.email_body == "Til $recipientName$ fra Digdir (Eksempel AS)"


def test_a_template_without_a_field_gives_the_request_text_nothing() -> None:
    order = only(orders(templates={"email_subject": "{textToken}", "email_body": "{textToken}"}))
    assert order.sms_body is None
    assert (order.email_subject, order.email_body) == ("Subject", "Body")


# --- reminders (DESIGN.md §6: a separate order per phase) ----------------------------------------


def test_an_order_is_looked_up_under_its_id_and_its_id_before_migration_0022() -> None:
    main, reminder = with_notification(send_reminder=True)
    assert recorded_ids(main) == (main.id, uuid.uuid5(CORR_ID, f"org:{ORG}:main"))
    assert recorded_ids(reminder) == (reminder.id, uuid.uuid5(CORR_ID, f"org:{ORG}:reminder"))


def test_reminder_is_a_separate_standalone_order() -> None:
    main, reminder = with_notification(send_reminder=True, reminder_notification_channel=int(Ch.EmailAndSms))
    assert order_request(main)["conditionEndpoint"] == f"{CONDITION}/main"
    assert (reminder.is_reminder, reminder.channel) == (True, Ch.EmailAndSms)
    assert reminder.id == expected_order_id(CORR_ID, f"org:{ORG}:reminder") != main.id
    assert reminder.requested_send_time == PUBLISH + DELAY
    assert order_request(reminder) == {
        "sendersReference": "corr-ref-1",
        "requestedSendTime": (PUBLISH + DELAY).isoformat(),
        "conditionEndpoint": CONDITION,
        "dialogportenAssociation": None,
        "idempotencyId": str(reminder.id),
        "recipient": {
            "recipientOrganization": {
                "orgNumber": ORG,
                "resourceId": RESOURCE,
                "channelSchema": "EmailAndSms",
                "emailSettings": {"subject": "R subject", "body": "R body", "contentType": "Plain"},
                "smsSettings": {"body": "R sms"},
            }
        },
    }
    assert "reminders" not in order_request(main)


def test_reminder_channel_defaults_to_the_main_channel() -> None:
    _, reminder = with_notification(send_reminder=True, notification_channel=int(Ch.Sms))
    assert reminder.channel == Ch.Sms


def test_reminder_delay_counts_from_the_main_send_time() -> None:
    later = PUBLISH + timedelta(hours=5)
    _, reminder = orders(correspondence(notification=notification(send_reminder=True)), now=later)
    assert reminder.requested_send_time == later + DELAY


def test_no_reminder_without_send_reminder() -> None:
    assert summary(with_notification(send_reminder=False)) == [(f"org:{ORG}", False)]


def test_reminder_content_type_falls_back_to_the_main_one() -> None:
    """SPEC.md §5.1: reminderEmailContentType null → emailContentType (the key is stored as null)."""
    _, reminder = with_notification(
        send_reminder=True, email_content_type=1, reminder_email_content_type=None
    )
    assert reminder.email_content_type == EmailContentType.Html


def test_reminder_content_type_of_its_own() -> None:
    main, reminder = with_notification(
        send_reminder=True, email_content_type=1, reminder_email_content_type=0
    )
    assert (main.email_content_type, reminder.email_content_type) == (
        EmailContentType.Html,
        EmailContentType.Plain,
    )


# --- condition endpoints ------------------------------------------------------------------------


def test_base_url_trailing_slash_is_not_doubled() -> None:
    assert order_request(only(orders(base_url=BASE + "/")))["conditionEndpoint"] == f"{CONDITION}/main"


def test_base_url_path_is_kept() -> None:
    order = only(orders(base_url="https://gw.example.no/X/"))
    assert order_request(order)["conditionEndpoint"] == (
        f"https://gw.example.no/X/correspondence/api/v1/correspondence/{CORR_ID}/notification/check/main"
    )


@pytest.mark.parametrize("base_url", [None, ""])
def test_no_base_url_no_condition_endpoint(base_url) -> None:
    assert order_request(only(orders(base_url=base_url)))["conditionEndpoint"] is None


@pytest.mark.xfail(
    strict=True,
    reason="SPEC.md §5.4: condition endpoints are omitted when the base URL host is "
    "localhost; the code only omits them when no base URL is configured",
)
def test_localhost_base_url_has_no_condition_endpoint() -> None:
    assert order_request(only(orders(base_url="http://localhost:8080")))["conditionEndpoint"] is None


# --- person -------------------------------------------------------------------------------------


@pytest.mark.parametrize("recipient", [PERSON_URN, SSN])
def test_person_order(recipient: str) -> None:
    order = only(orders(correspondence(recipient)))
    assert recipient_of(order) == {
        "recipientPerson": {
            "nationalIdentityNumber": SSN,
            "resourceId": RESOURCE,
            "channelSchema": "Email",
            "emailSettings": EMAIL_SETTINGS,
            "smsSettings": SMS_SETTINGS,
        }
    }
    assert order_request(order)["idempotencyId"] == main_id(f"nin:{SSN}")


@pytest.mark.parametrize("ignore", [True, False])
def test_person_order_carries_ignore_reservation(ignore: bool) -> None:
    """SPEC.md §5.4: `ignoreReservation` is sent for persons, omitted only when null."""
    main, reminder = orders(
        correspondence(PERSON_URN, ignore_reservation=ignore, notification=notification(send_reminder=True))
    )
    assert recipient_of(main)["recipientPerson"]["ignoreReservation"] is ignore
    assert recipient_of(reminder)["recipientPerson"]["ignoreReservation"] is ignore
    assert main.ignore_reservation is ignore


def test_organization_order_has_no_ignore_reservation() -> None:
    order = only(orders(correspondence(ORG_URN, ignore_reservation=True)))
    assert "ignoreReservation" not in recipient_of(order)["recipientOrganization"]
    assert order.ignore_reservation is True


# --- external identities ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "urn",
    ["urn:altinn:person:idporten-email:ola@example.com", "urn:altinn:person:legacy-selfidentified:123456789"],
)
def test_external_identity_order_names_the_whole_urn(urn: str) -> None:
    order = only(orders(correspondence(urn)))
    assert recipient_of(order) == {
        "recipientExternalIdentity": {
            "externalIdentity": urn,
            "resourceId": RESOURCE,
            "channelSchema": "Email",
            "emailSettings": EMAIL_SETTINGS,
            "smsSettings": SMS_SETTINGS,
        }
    }
    assert (order.plan.kind, order_request(order)["idempotencyId"]) == ("external", main_id(f"ext:{urn}"))


def test_external_identity_key_is_lower_case() -> None:
    urn = "urn:altinn:person:legacy-selfidentified:OlaNordmann"
    order = only(orders(correspondence(urn)))
    assert order.plan.key == "ext:" + urn.lower()
    assert recipient_of(order)["recipientExternalIdentity"]["externalIdentity"] == urn


# --- custom recipients --------------------------------------------------------------------------


def test_custom_email_recipient_order() -> None:
    result = with_notification(
        sms_body=None,
        custom_recipients=[{"email_address": " Ola@Example.com "}],
        notification_channel=int(Ch.EmailAndSms),
    )
    org, email = result
    assert recipient_of(email) == {
        "recipientEmail": {"emailAddress": "Ola@Example.com", "emailSettings": EMAIL_SETTINGS}
    }
    assert (email.channel, email.plan.key, org.channel) == (Ch.Email, "email:ola@example.com", Ch.EmailAndSms)
    assert order_request(email)["idempotencyId"] == main_id("email:ola@example.com")


def test_valid_custom_mobile_is_an_sms_order_in_e164() -> None:
    result = with_notification(
        email_subject=None,
        custom_recipients=[{"mobile_number": " 0047 987 65 432 "}],
        override_registered_contact_information=True,
    )
    sms = only(result)
    assert recipient_of(sms) == {"recipientSms": {"phoneNumber": "+4798765432", "smsSettings": SMS_SETTINGS}}
    assert (sms.channel, sms.plan.key) == (Ch.Sms, "sms:+4798765432")


def test_custom_mobile_that_does_not_normalize_is_kept_as_given() -> None:
    sms = only(
        with_notification(
            custom_recipients=[{"mobile_number": " 98765432 "}], override_registered_contact_information=True
        )
    )
    assert sms.plan.value == "98765432"


@pytest.mark.xfail(
    strict=True,
    reason="SPEC.md §5.4: recipientEmail carries only emailSettings and recipientSms only "
    "smsSettings; the code adds both settings to both",
)
def test_email_and_sms_recipients_carry_only_their_own_settings() -> None:
    email, sms = with_notification(
        override_registered_contact_information=True,
        custom_recipients=[{"email_address": "a@b.no"}, {"mobile_number": "+4798765432"}],
    )
    assert recipient_of(email) == {
        "recipientEmail": {"emailAddress": "a@b.no", "emailSettings": EMAIL_SETTINGS}
    }
    assert recipient_of(sms) == {"recipientSms": {"phoneNumber": "+4798765432", "smsSettings": SMS_SETTINGS}}


def test_custom_organization_and_person_recipients() -> None:
    result = with_notification(
        PERSON_URN,
        custom_recipients=[
            {"organization_number": " 991825827 "},
            {"national_identity_number": " 07827199405 "},
        ],
    )
    assert summary(result) == [(f"nin:{SSN}", False), ("org:991825827", False), ("nin:07827199405", False)]
    assert recipient_of(result[1])["recipientOrganization"]["orgNumber"] == "991825827"
    assert recipient_of(result[2])["recipientPerson"]["nationalIdentityNumber"] == "07827199405"


def test_orders_come_per_plan_main_then_reminder() -> None:
    result = with_notification(send_reminder=True, custom_recipients=[{"email_address": "a@b.no"}])
    assert summary(result) == [
        (f"org:{ORG}", False),
        (f"org:{ORG}", True),
        ("email:a@b.no", False),
        ("email:a@b.no", True),
    ]
    assert result[3].channel == Ch.Email and result[3].email_subject == "R subject"


def test_sms_recipient_is_always_sms_even_for_the_reminder() -> None:
    result = with_notification(
        send_reminder=True,
        reminder_notification_channel=int(Ch.Email),
        override_registered_contact_information=True,
        custom_recipients=[{"mobile_number": "+4798765432"}],
    )
    assert [(o.channel, o.is_reminder, o.sms_body) for o in result] == [
        (Ch.Sms, False, "Sms"),
        (Ch.Sms, True, "R sms"),
    ]


def test_same_build_twice_gives_the_same_ids() -> None:
    corr = correspondence(
        notification=notification(send_reminder=True, custom_recipients=[{"email_address": "a@b.no"}])
    )
    first = build_orders(
        corr, {"email_subject": "{textToken}"}, {}, now=NOW, reminder_delay=DELAY, base_url=BASE
    )
    again = build_orders(
        corr, {"email_subject": "{textToken}"}, {}, now=NOW, reminder_delay=DELAY, base_url=None
    )
    assert [o.id for o in first] == [o.id for o in again]
    assert len({o.id for o in first}) == 4
