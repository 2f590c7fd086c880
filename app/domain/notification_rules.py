"""Notification request rules, templates and text substitution (SPEC.md §5.1–§5.3).

The request is a plain dict with snake_case keys (see `validate_notification`). Pure: no Flask, no SQL.
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

import phonenumbers

from app.domain.enums import NotificationChannel, NotificationTemplate
from app.domain.errors import CorrespondenceError

TEXT_TOKEN = "{textToken}"
RECIPIENT_NAME_TAG = "$recipientName$"
PLACEHOLDERS = ("sendersName", "correspondenceRecipientName", "resourceName", "messageTitle")
_PLACEHOLDER_TOKENS = tuple((name, f"${name}$") for name in PLACEHOLDERS)
TEXT_FIELDS = (
    "email_subject",
    "email_body",
    "sms_body",
    "reminder_email_subject",
    "reminder_email_body",
    "reminder_sms_body",
)
IDENTIFIER_FIELDS = ("organization_number", "national_identity_number", "email_address", "mobile_number")

_ATOM = r"[a-zA-Z0-9æøåÆØÅ!#$%&'*+\-=?^_`{|}~]+"
_LABEL = r"(?:[a-zA-Z0-9æøåÆØÅ][a-zA-Z0-9\-æøåÆØÅ]{0,61}[a-zA-Z0-9æøåÆØÅ]\.|[a-zA-Z0-9æøåÆØÅ]\.)"
_EMAIL_REGEX = re.compile(
    rf'(?:"[^"]+"|{_ATOM}(?:\.{_ATOM})*)'
    rf"@(?:{_LABEL}{{1,9}}[a-zA-Z]{{2,14}}|[0-9]{{1,3}}\.[0-9]{{1,3}}\.[0-9]{{1,3}}\.[0-9]{{1,3}})"
)


def is_valid_email(address: str) -> bool:
    """The custom-recipient e-mail rule of §5.2 (full match, and no ';')."""
    return isinstance(address, str) and ";" not in address and _EMAIL_REGEX.fullmatch(address) is not None


def normalize_mobile(number: str) -> str | None:
    """E.164 form of a mobile number starting with '+' or '00' that libphonenumber finds valid, else None."""
    if not isinstance(number, str):
        return None
    if number.startswith("00"):
        number = "+" + number[2:]
    if not number.startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _present(value: str | None) -> TypeGuard[str]:
    """Non-null and non-empty ("needs" in §5.2); the values asked about are the request's text fields."""
    return value is not None and value != ""


def effective_custom_recipients(notification: dict[str, Any]) -> list[dict[str, Any]]:
    """customRecipients, else [customRecipient], else the first customNotificationRecipients' recipients."""
    if notification.get("custom_recipients"):
        return list(notification["custom_recipients"])
    if notification.get("custom_recipient"):
        return [notification["custom_recipient"]]
    overrides = notification.get("custom_notification_recipients")
    if overrides:
        return list(overrides[0].get("recipients") or [])
    return []


def _uses_recipient_name(notification: dict[str, Any]) -> bool:
    tag = RECIPIENT_NAME_TAG.lower()
    return any(tag in (notification.get(field) or "").lower() for field in TEXT_FIELDS)


def _validate_custom_recipient(recipient: dict[str, Any], notification: dict[str, Any]) -> None:
    given = [field for field in IDENTIFIER_FIELDS if _present(recipient.get(field))]
    if not given:
        raise CorrespondenceError(3019)
    if len(given) > 1:
        raise CorrespondenceError(3018)
    email, mobile = recipient.get("email_address"), recipient.get("mobile_number")
    if (_present(email) or _present(mobile)) and _uses_recipient_name(notification):
        raise CorrespondenceError(3015)
    if _present(email) and not is_valid_email(email):
        raise CorrespondenceError(3011)
    if _present(mobile) and normalize_mobile(mobile) is None:
        raise CorrespondenceError(3012)


def _validate_content(notification: dict[str, Any]) -> None:
    n = notification
    main = n.get("notification_channel")
    main = NotificationChannel.Email if main is None else main
    rem = n.get("reminder_notification_channel")
    rem = main if rem is None else rem
    reminder = bool(n.get("send_reminder"))
    email = _present(n.get("email_body")) and _present(n.get("email_subject"))
    sms = _present(n.get("sms_body"))
    r_email = _present(n.get("reminder_email_body")) and _present(n.get("reminder_email_subject"))
    r_sms = _present(n.get("reminder_sms_body"))
    preferred = (NotificationChannel.EmailPreferred, NotificationChannel.SmsPreferred)
    checks = (
        (main == NotificationChannel.Email and not email, 3002),
        (reminder and rem == NotificationChannel.Email and not r_email, 3003),
        (main == NotificationChannel.Sms and not sms, 3004),
        (reminder and rem == NotificationChannel.Sms and not r_sms, 3005),
        (main in preferred and not (email and sms), 3006),
        (reminder and rem in preferred and not (r_email and r_sms), 3007),
        (main == NotificationChannel.EmailAndSms and not (email and sms), 3024),
        (reminder and rem == NotificationChannel.EmailAndSms and not (r_email and r_sms), 3025),
    )
    for failed, code in checks:
        if failed:
            raise CorrespondenceError(code)


def validate_notification(notification: dict[str, Any], *, recipient_count: int) -> None:
    """Steps 2–5 of §5.2 (first failure wins); raises CorrespondenceError. Step 1 (3001) is the caller's."""
    custom = effective_custom_recipients(notification)
    if notification.get("override_registered_contact_information") and not custom:
        raise CorrespondenceError(3022)
    if custom and recipient_count > 1:
        raise CorrespondenceError(3017)
    for recipient in custom:
        _validate_custom_recipient(recipient or {}, notification)
    template = notification.get("notification_template")
    if template is None or template == NotificationTemplate.CustomMessage:
        _validate_content(notification)


def render_template_text(template_text: str | None, request_text: str | None, values: dict[str, str]) -> str:
    """§5.3 steps 1–2: fill `{textToken}`, trim, then replace the `$…$` placeholders given in `values`.

    `$recipientName$` is left for Altinn Notifications; placeholders missing from `values` are kept.
    """
    text = (template_text or "").replace(TEXT_TOKEN, (request_text or "") + " ").strip()
    if "$" in text:  # six texts an order pair, most without a placeholder
        for name, token in _PLACEHOLDER_TOKENS:
            if name in values:
                text = text.replace(token, values[name] or "")
    return text
