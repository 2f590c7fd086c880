"""Notification validation, contact checks and template texts (SPEC.md §5.1–§5.3)."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.enums import NotificationChannel as Ch
from app.domain.enums import NotificationTemplate
from app.domain.errors import CorrespondenceError
from app.domain.notification_rules import (
    TEXT_FIELDS,
    effective_custom_recipients,
    is_valid_email,
    normalize_mobile,
    render_template_text,
    validate_notification,
)
from tests.unit.notification_data import GENERIC_NB

# SPEC.md §5.3, GenericAltinnMessage en emailBody
GENERIC_EN_BODY = (
    "Hello. $correspondenceRecipientName$ has received a new message from $sendersName$. "
    "{textToken}Log in to Altinn to see this message."
)
ALL_TEXTS = {
    "email_subject": "S",
    "email_body": "B",
    "sms_body": "SMS",
    "reminder_email_subject": "RS",
    "reminder_email_body": "RB",
    "reminder_sms_body": "RSMS",
}


def notification(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "notification_template": int(NotificationTemplate.CustomMessage),
        "notification_channel": int(Ch.Email),
        "email_content_type": 0,
        "send_reminder": False,
        "reminder_notification_channel": None,
        "reminder_email_content_type": None,
        "senders_reference": None,
        "custom_recipients": [],
        "custom_recipient": None,
        "custom_notification_recipients": None,
        "override_registered_contact_information": False,
        **ALL_TEXTS,
    }
    base.update(overrides)
    return base


def error_code(n: dict[str, Any], recipient_count: int = 1) -> int | None:
    try:
        validate_notification(n, recipient_count=recipient_count)
    except CorrespondenceError as exc:
        return exc.code
    return None


def test_valid_notification_passes() -> None:
    assert error_code(notification(send_reminder=True)) is None


# --- custom recipients -------------------------------------------------------------------------


def test_effective_custom_recipients_precedence() -> None:
    a, b, c = {"email_address": "a@a.no"}, {"email_address": "b@b.no"}, {"email_address": "c@c.no"}
    cnr = [
        {"recipient_to_override": "x", "recipients": [c]},
        {"recipient_to_override": "y", "recipients": [a]},
    ]
    assert effective_custom_recipients(
        notification(custom_recipients=[a], custom_recipient=b, custom_notification_recipients=cnr)
    ) == [a]
    assert effective_custom_recipients(
        notification(custom_recipient=b, custom_notification_recipients=cnr)
    ) == [b]
    assert effective_custom_recipients(notification(custom_notification_recipients=cnr)) == [c]
    assert effective_custom_recipients(notification()) == []


def test_3022_override_without_custom_recipients() -> None:
    assert error_code(notification(override_registered_contact_information=True)) == 3022
    assert (
        error_code(
            notification(
                override_registered_contact_information=True, custom_recipients=[{"email_address": "a@b.no"}]
            )
        )
        is None
    )


def test_3017_custom_recipients_with_several_recipients() -> None:
    n = notification(custom_recipient={"email_address": "a@b.no"})
    assert error_code(n, recipient_count=2) == 3017
    assert error_code(n, recipient_count=1) is None


@pytest.mark.parametrize("recipient", [{}, {"email_address": "", "mobile_number": None, "is_reserved": True}])
def test_3019_custom_recipient_without_identifier(recipient: dict[str, Any]) -> None:
    assert error_code(notification(custom_recipients=[recipient])) == 3019


@pytest.mark.parametrize(
    "recipient",
    [
        {"email_address": "a@b.no", "mobile_number": "+4798765432"},
        {"organization_number": "991825827", "national_identity_number": "08900499559"},
        {"organization_number": "991825827", "email_address": "a@b.no"},
    ],
)
def test_3018_custom_recipient_with_several_identifiers(recipient: dict[str, Any]) -> None:
    assert error_code(notification(custom_recipients=[recipient])) == 3018


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_3015_recipient_name_with_email_or_mobile(field: str) -> None:
    n = notification(**{field: "Hei $RecipientName$"}, custom_recipients=[{"mobile_number": "+4798765432"}])
    assert error_code(n) == 3015
    n["custom_recipients"] = [{"organization_number": "991825827"}]
    assert error_code(n) is None


@pytest.mark.parametrize("mobile", ["+4798765432", "004798765432", "+47 987 65 432", "+46701234567"])
def test_valid_custom_mobile_passes(mobile: str) -> None:
    assert error_code(notification(custom_recipients=[{"mobile_number": mobile}])) is None


def test_valid_custom_email_passes() -> None:
    assert error_code(notification(custom_recipients=[{"email_address": "ola.nordmann@example.no"}])) is None


@pytest.mark.parametrize(
    "recipient", [{"email_address": "a@b.no"}, {"national_identity_number": "08900499559"}]
)
def test_3015_only_for_email_or_mobile_recipients(recipient: dict[str, Any]) -> None:
    n = notification(reminder_sms_body="Hei $recipientName$", custom_recipients=[recipient])
    assert error_code(n) == (3015 if "email_address" in recipient else None)


def test_3011_invalid_custom_email() -> None:
    assert error_code(notification(custom_recipients=[{"email_address": "not-an-email"}])) == 3011


def test_3012_invalid_custom_mobile() -> None:
    assert error_code(notification(custom_recipients=[{"mobile_number": "97661466"}])) == 3012


def test_custom_recipient_checks_run_in_order() -> None:
    n = notification(custom_recipients=[{"email_address": "ok@a.no"}, {}, {"email_address": "bad"}])
    assert error_code(n) == 3019
    n = notification(override_registered_contact_information=True, email_body=None)
    assert error_code(n, recipient_count=2) == 3022


# --- content rules -----------------------------------------------------------------------------

CONTENT_CASES = [
    (3002, {"notification_channel": Ch.Email, "email_subject": None}),
    (3002, {"notification_channel": Ch.Email, "email_body": ""}),
    (
        3003,
        {
            "notification_channel": Ch.Sms,
            "reminder_notification_channel": Ch.Email,
            "send_reminder": True,
            "reminder_email_body": None,
        },
    ),
    (3003, {"notification_channel": Ch.Email, "send_reminder": True, "reminder_email_subject": ""}),
    (3004, {"notification_channel": Ch.Sms, "sms_body": None}),
    (3005, {"notification_channel": Ch.Sms, "send_reminder": True, "reminder_sms_body": ""}),
    (3006, {"notification_channel": Ch.EmailPreferred, "sms_body": None}),
    (3006, {"notification_channel": Ch.SmsPreferred, "email_subject": None}),
    (
        3007,
        {
            "notification_channel": Ch.Email,
            "reminder_notification_channel": Ch.SmsPreferred,
            "send_reminder": True,
            "reminder_sms_body": None,
        },
    ),
    (3024, {"notification_channel": Ch.EmailAndSms, "sms_body": ""}),
    (3025, {"notification_channel": Ch.EmailAndSms, "send_reminder": True, "reminder_email_body": None}),
]


@pytest.mark.parametrize(("code", "overrides"), CONTENT_CASES)
def test_content_rules(code: int, overrides: dict[str, Any]) -> None:
    assert error_code(notification(**overrides)) == code


@pytest.mark.parametrize(("code", "overrides"), [c for c in CONTENT_CASES if c[1].get("send_reminder")])
def test_reminder_rules_only_when_sending_reminders(code: int, overrides: dict[str, Any]) -> None:
    assert error_code(notification(**{**overrides, "send_reminder": False})) is None


@pytest.mark.parametrize(("code", "overrides"), CONTENT_CASES)
def test_content_rules_skipped_for_generic_template(code: int, overrides: dict[str, Any]) -> None:
    n = notification(**overrides, notification_template=int(NotificationTemplate.GenericAltinnMessage))
    assert error_code(n) is None


@pytest.mark.parametrize("main", list(Ch))
@pytest.mark.parametrize("reminder", [None, *Ch])
def test_every_channel_pair_passes_with_all_texts(main: Ch, reminder: Ch | None) -> None:
    assert (
        error_code(
            notification(
                notification_channel=main, reminder_notification_channel=reminder, send_reminder=True
            )
        )
        is None
    )


def test_reminder_channel_defaults_to_main_channel() -> None:
    n = notification(
        notification_channel=Ch.Sms, send_reminder=True, reminder_sms_body=None, reminder_email_body=None
    )
    assert error_code(n) == 3005


def test_missing_template_and_channel_default_to_custom_message_and_email() -> None:
    assert (
        error_code(notification(notification_template=None, notification_channel=None, email_subject=None))
        == 3002
    )


def test_custom_recipient_errors_come_before_content_errors() -> None:
    assert error_code(notification(email_body=None, custom_recipients=[{}])) == 3019


# --- e-mail and mobile -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "ola@example.com",
        "ola.nordmann+x@sub.example.no",
        "blåbær@æøå.no",
        '"quoted local"@example.com',
        "user@10.0.0.1",
        "a@b.museum",
    ],
)
def test_valid_emails(address: str) -> None:
    assert is_valid_email(address)


@pytest.mark.parametrize(
    "address",
    [
        "plain",
        "a@b",
        "a@b.c",
        "a@-b.no",
        "a..b@c.no",
        ".a@b.no",
        "a@b.no;c@d.no",
        '"a;b"@c.no',
        "a b@c.no",
        "a@b.no\n",
        "a@b.abcdefghijklmno",
    ],
)
def test_invalid_emails(address: str) -> None:
    assert not is_valid_email(address)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+4798765432", "+4798765432"),
        ("004798765432", "+4798765432"),
        ("+47 987 65 432", "+4798765432"),
        ("12345678", None),
        ("97661466", None),
        ("+4712345678", None),
        ("+47abc", None),
        ("", None),
    ],
)
def test_normalize_mobile(number: str, expected: str | None) -> None:
    assert normalize_mobile(number) == expected


# --- templates ---------------------------------------------------------------------------------


@pytest.fixture()
def seeded(db) -> dict:
    """The template rows the migration seeds: the one copy of the texts the service uses."""
    from app.db.repositories.templates import get_templates

    with db.transaction() as conn:
        rows = get_templates(conn)
    return {"custom": rows[(0, None)], "generic": {lang: t for (tpl, lang), t in rows.items() if tpl == 1}}


@pytest.mark.db
def test_template_tables(seeded) -> None:
    GENERIC_TEMPLATES, CUSTOM_TEMPLATE = seeded["generic"], seeded["custom"]
    assert set(GENERIC_TEMPLATES) == {"nb", "nn", "en"}
    assert all(set(t) == set(TEXT_FIELDS) for t in GENERIC_TEMPLATES.values())
    assert {field: "{textToken}" for field in TEXT_FIELDS} == CUSTOM_TEMPLATE
    assert GENERIC_TEMPLATES["en"]["email_subject"] == "A message has been received in Altinn {textToken}"
    assert GENERIC_TEMPLATES["nn"]["sms_body"] == GENERIC_TEMPLATES["nn"]["email_body"]
    assert GENERIC_TEMPLATES["nb"] == GENERIC_NB  # the copy the pure tests use
    assert GENERIC_TEMPLATES["en"]["email_body"] == GENERIC_EN_BODY


def test_render_custom_template_is_the_request_text() -> None:
    assert render_template_text("{textToken}", "Hello there", {}) == "Hello there"


def test_render_generic_subject_without_request_text() -> None:
    text = render_template_text(GENERIC_NB["email_subject"], None, {})
    assert text == "En melding har blitt mottatt i Altinn"


def test_render_generic_body_substitutes_placeholders() -> None:
    values = {
        "sendersName": "Digdir",
        "correspondenceRecipientName": "Ola",
        "resourceName": "R",
        "messageTitle": "T",
    }
    text = render_template_text(GENERIC_EN_BODY, "Extra.", values)
    assert text == (
        "Hello. Ola has received a new message from Digdir. Extra. Log in to Altinn to see this message."
    )
    text = render_template_text("{textToken}", "$resourceName$/$messageTitle$ to $recipientName$", values)
    assert text == "R/T to $recipientName$"
    assert render_template_text("$sendersName$ {textToken}", "x", {}) == "$sendersName$ x"


def test_render_placeholder_without_a_value_becomes_empty() -> None:
    assert render_template_text("{textToken}", "[$sendersName$]", {"sendersName": None}) == "[]"
    assert render_template_text("{textToken}", "[$messageTitle$]", {"messageTitle": ""}) == "[]"


def test_render_without_template_or_text() -> None:
    assert render_template_text(None, "ignored", {}) == ""
    assert render_template_text("  {textToken}  ", None, {}) == ""
