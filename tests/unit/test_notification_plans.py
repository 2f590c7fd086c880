"""Recipient plans, deduplication against the organization's contacts (SPEC.md §5.4), and where the
local gateway delivers an order (DESIGN.md §6). No database."""

from __future__ import annotations

import uuid

import pytest

from app.domain.enums import NotificationChannel as Ch
from app.domain.notification_orders import (
    Contact,
    NotificationOrder,
    RecipientPlan,
    build_plans,
    contact_urns,
    order_id,
    recipient_plan,
    resolve_addresses,
)
from tests.unit.notification_data import (
    CORR_ID,
    NOW,
    ORG,
    ORG_URN,
    PERSON_URN,
    SSN,
    correspondence,
    notification,
    summary,
    with_notification,
)

ORG_CONTACT = Contact("Eksempel AS", emails=("Post@Eksempel.no",), mobiles=("+47 987 65 432",))
CONTACTS = {ORG_URN: ORG_CONTACT}
KNOWN_EMAIL = [{"email_address": "post@eksempel.no"}]
KNOWN_MOBILE = [{"mobile_number": "+4798765432"}]
ORG_KEY = f"org:{ORG}"


# --- plans --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("urn", "kind", "value"),
    [
        (ORG_URN, "organization", ORG),
        (f"0192:{ORG}", "organization", ORG),
        (PERSON_URN, "person", SSN),
        (SSN, "person", SSN),
        ("urn:altinn:person:idporten-email:a@b.no", "external", "urn:altinn:person:idporten-email:a@b.no"),
        (
            "urn:altinn:person:legacy-selfidentified:123456789",
            "external",
            "urn:altinn:person:legacy-selfidentified:123456789",
        ),
    ],
)
def test_recipient_plan_per_recipient_kind(urn: str, kind: str, value: str) -> None:
    assert recipient_plan(urn) == RecipientPlan(kind, value)


@pytest.mark.parametrize(
    ("plan", "key"),
    [
        (RecipientPlan("organization", ORG), f"org:{ORG}"),
        (RecipientPlan("person", SSN), f"nin:{SSN}"),
        (RecipientPlan("external", "urn:X:Y"), "ext:urn:x:y"),
        (RecipientPlan("email", "A@B.no"), "email:a@b.no"),
        (RecipientPlan("sms", "+47ABC"), "sms:+47ABC"),
    ],
)
def test_plan_keys_of_spec_5_4(plan: RecipientPlan, key: str) -> None:
    assert plan.key == key


def test_plan_defaults_to_both_phases() -> None:
    plan = RecipientPlan("email", "a@b.no")
    assert (plan.main, plan.reminder) == (True, True)


def test_order_id_is_the_correspondences_time_then_uuid5_of_plan_and_phase() -> None:
    plan = RecipientPlan("email", "A@B.no")
    main, reminder = order_id(CORR_ID, plan, False), order_id(CORR_ID, plan, True)
    assert main.bytes[:8] == reminder.bytes[:8] == CORR_ID.bytes[:8]  # written in time order
    assert main.bytes[8:] == uuid.uuid5(CORR_ID, "email:a@b.no:main").bytes[8:]
    assert reminder.bytes[8:] == uuid.uuid5(CORR_ID, "email:a@b.no:reminder").bytes[8:]


def test_plans_with_the_same_key_collapse_in_first_seen_order() -> None:
    n = notification(
        custom_recipients=[
            {"email_address": "a@b.no"},
            {"organization_number": ORG},
            {"email_address": "A@B.NO"},
            None,
            {"mobile_number": "+4798765432"},
            {"mobile_number": "0047 98765432"},
        ]
    )
    plans = build_plans(correspondence(notification=n), {})
    assert [(p.key, p.main, p.reminder) for p in plans] == [
        (ORG_KEY, True, True),
        ("email:a@b.no", True, True),
        ("sms:+4798765432", True, True),
    ]
    assert plans[1].value == "A@B.NO"  # the later spelling wins


def test_override_leaves_out_the_correspondence_recipient() -> None:
    n = notification(
        override_registered_contact_information=True, custom_recipients=[{"email_address": "a@b.no"}]
    )
    assert [p.key for p in build_plans(correspondence(notification=n), CONTACTS)] == ["email:a@b.no"]


def test_deprecated_custom_recipient_fields_are_used() -> None:
    n = notification(custom_recipient={"email_address": "a@b.no"})
    assert [p.key for p in build_plans(correspondence(notification=n), {})] == [ORG_KEY, "email:a@b.no"]
    n = notification(
        custom_notification_recipients=[
            {"recipient_to_override": "x", "recipients": [{"national_identity_number": SSN}]}
        ]
    )
    assert [p.key for p in build_plans(correspondence(notification=n), {})] == [ORG_KEY, f"nin:{SSN}"]


def test_custom_recipient_without_identifier_adds_no_plan() -> None:
    n = notification(custom_recipients=[{"email_address": "", "mobile_number": None, "is_reserved": True}])
    assert [p.key for p in build_plans(correspondence(notification=n), {})] == [ORG_KEY]


# --- deduplication (SPEC.md §5.4) ---------------------------------------------------------------


@pytest.mark.parametrize("channel", [Ch.Email, Ch.EmailAndSms, Ch.EmailPreferred])
def test_custom_email_the_organization_order_reaches_is_dropped(channel: Ch) -> None:
    result = with_notification(
        contacts=CONTACTS, notification_channel=int(channel), custom_recipients=KNOWN_EMAIL
    )
    assert summary(result) == [(ORG_KEY, False)]


@pytest.mark.parametrize("channel", [Ch.Sms, Ch.SmsPreferred])
def test_custom_email_is_kept_when_the_organization_order_sends_no_email(channel: Ch) -> None:
    result = with_notification(
        contacts=CONTACTS, notification_channel=int(channel), custom_recipients=KNOWN_EMAIL
    )
    assert summary(result) == [(ORG_KEY, False), ("email:post@eksempel.no", False)]


@pytest.mark.parametrize("channel", [Ch.Sms, Ch.EmailAndSms, Ch.SmsPreferred])
def test_custom_mobile_the_organization_order_reaches_is_dropped(channel: Ch) -> None:
    result = with_notification(
        contacts=CONTACTS, notification_channel=int(channel), custom_recipients=KNOWN_MOBILE
    )
    assert summary(result) == [(ORG_KEY, False)]


@pytest.mark.parametrize("channel", [Ch.Email, Ch.EmailPreferred])
def test_custom_mobile_is_kept_when_the_organization_order_sends_no_sms(channel: Ch) -> None:
    result = with_notification(
        contacts=CONTACTS, notification_channel=int(channel), custom_recipients=KNOWN_MOBILE
    )
    assert summary(result) == [(ORG_KEY, False), ("sms:+4798765432", False)]


def test_a_plan_can_end_up_reminder_only() -> None:
    result = with_notification(
        contacts=CONTACTS,
        send_reminder=True,
        notification_channel=int(Ch.Email),
        reminder_notification_channel=int(Ch.Sms),
        custom_recipients=KNOWN_EMAIL,
    )
    assert summary(result) == [(ORG_KEY, False), (ORG_KEY, True), ("email:post@eksempel.no", True)]
    assert result[2].requested_send_time == result[1].requested_send_time


def test_a_plan_can_end_up_main_only() -> None:
    result = with_notification(
        contacts=CONTACTS,
        send_reminder=True,
        notification_channel=int(Ch.Sms),
        reminder_notification_channel=int(Ch.Email),
        custom_recipients=KNOWN_EMAIL,
    )
    assert summary(result) == [(ORG_KEY, False), (ORG_KEY, True), ("email:post@eksempel.no", False)]


def test_reminder_phase_dropped_too_when_its_channel_reaches_the_address() -> None:
    result = with_notification(contacts=CONTACTS, send_reminder=True, custom_recipients=KNOWN_EMAIL)
    assert summary(result) == [(ORG_KEY, False), (ORG_KEY, True)]


def test_a_dropped_address_does_not_end_the_plans() -> None:
    result = with_notification(
        contacts=CONTACTS, custom_recipients=[*KNOWN_EMAIL, {"email_address": "x@y.no"}]
    )
    assert summary(result) == [(ORG_KEY, False), ("email:x@y.no", False)]


@pytest.mark.parametrize(
    ("main", "reminder", "phases"), [(Ch.Email, Ch.Sms, [True]), (Ch.Sms, Ch.Email, [False])]
)
def test_the_same_address_twice_keeps_the_phases_left_to_it(
    main: Ch, reminder: Ch, phases: list[bool]
) -> None:
    result = with_notification(
        contacts=CONTACTS,
        send_reminder=True,
        notification_channel=int(main),
        reminder_notification_channel=int(reminder),
        custom_recipients=[*KNOWN_EMAIL, {"email_address": "POST@eksempel.no"}],
    )
    assert summary(result) == [(ORG_KEY, False), (ORG_KEY, True)] + [
        ("email:post@eksempel.no", p) for p in phases
    ]


def test_deduplicated_plan_keeps_its_main_phase_without_reminders() -> None:
    plans = build_plans(
        correspondence(
            notification=notification(notification_channel=int(Ch.Sms), custom_recipients=KNOWN_EMAIL)
        ),
        CONTACTS,
    )
    assert [(p.key, p.main, p.reminder) for p in plans] == [
        (ORG_KEY, True, True),
        ("email:post@eksempel.no", True, False),
    ]


def test_missing_channel_counts_as_email_for_deduplication() -> None:
    result = with_notification(contacts=CONTACTS, notification_channel=None, custom_recipients=KNOWN_EMAIL)
    assert summary(result) == [(ORG_KEY, False)]


@pytest.mark.parametrize(
    "contacts",
    [
        {},  # the organization is not in the register
        {
            ORG_URN: Contact("Eksempel AS", emails=(), mobiles=("+4798765432",))
        },  # no e-mail for the channel in use
        {ORG_URN: Contact("Eksempel AS", emails=("annen@eksempel.no",))},  # a different address
    ],
)
def test_no_deduplication_without_a_matching_organization_address(contacts) -> None:
    result = with_notification(contacts=contacts, custom_recipients=KNOWN_EMAIL)
    assert summary(result) == [(ORG_KEY, False), ("email:post@eksempel.no", False)]


def test_no_deduplication_for_a_person_recipient() -> None:
    contacts = {PERSON_URN: Contact("Ola", emails=("post@eksempel.no",))}
    result = with_notification(PERSON_URN, contacts=contacts, custom_recipients=KNOWN_EMAIL)
    assert summary(result) == [(f"nin:{SSN}", False), ("email:post@eksempel.no", False)]


def test_no_deduplication_when_the_organization_is_not_notified() -> None:
    result = with_notification(
        contacts=CONTACTS,
        override_registered_contact_information=True,
        custom_recipients=KNOWN_EMAIL + KNOWN_MOBILE,
    )
    assert summary(result) == [("email:post@eksempel.no", False), ("sms:+4798765432", False)]


def test_organization_mobile_in_international_form_is_matched() -> None:
    contacts = {ORG_URN: Contact("Eksempel AS", mobiles=("004798765432",))}
    result = with_notification(
        contacts=contacts, notification_channel=int(Ch.Sms), custom_recipients=KNOWN_MOBILE
    )
    assert summary(result) == [(ORG_KEY, False)]


@pytest.mark.xfail(
    strict=True,
    reason="SPEC.md §5.4: an 8-digit mobile starting with 4 or 9 is normalized to "
    "+47… for deduplication; the code compares it unnormalized",
)
def test_organization_mobile_of_eight_digits_is_a_norwegian_number() -> None:
    contacts = {ORG_URN: Contact("Eksempel AS", mobiles=("98765432",))}
    result = with_notification(
        contacts=contacts, notification_channel=int(Ch.Sms), custom_recipients=KNOWN_MOBILE
    )
    assert summary(result) == [(ORG_KEY, False)]


def test_organization_mobile_that_is_not_a_number_is_compared_as_given() -> None:
    contacts = {ORG_URN: Contact("Eksempel AS", mobiles=("sentralbord",))}
    result = with_notification(
        contacts=contacts, notification_channel=int(Ch.Sms), custom_recipients=KNOWN_MOBILE
    )
    assert summary(result) == [(ORG_KEY, False), ("sms:+4798765432", False)]


# --- where the local gateway delivers (DESIGN.md §6) --------------------------------------------


def order(
    plan: RecipientPlan, channel: Ch = Ch.Email, ignore_reservation: bool | None = None
) -> NotificationOrder:
    return NotificationOrder(
        id=order_id(CORR_ID, plan, False),
        correspondence_id=CORR_ID,
        is_reminder=False,
        plan=plan,
        template=0,
        channel=int(channel),
        requested_send_time=NOW,
        email_subject="S",
        email_body="B",
        email_content_type=0,
        sms_body="SMS",
        ignore_reservation=ignore_reservation,
    )


BOTH = Contact("Eksempel AS", emails=("a@eksempel.no", "b@eksempel.no"), mobiles=("+4798765432",))
EMAIL_ONLY = Contact("Ola", emails=("ola@example.com",))
SMS_ONLY = Contact("Kari", mobiles=("+4791234567",))


@pytest.mark.parametrize(
    ("channel", "contact", "expected"),
    [
        (Ch.Email, BOTH, ("a@eksempel.no", "b@eksempel.no")),
        (Ch.Sms, BOTH, ("+4798765432",)),
        (Ch.EmailAndSms, BOTH, ("a@eksempel.no", "b@eksempel.no", "+4798765432")),
        (Ch.EmailPreferred, BOTH, ("a@eksempel.no", "b@eksempel.no")),
        (Ch.EmailPreferred, SMS_ONLY, ("+4791234567",)),
        (Ch.SmsPreferred, BOTH, ("+4798765432",)),
        (Ch.SmsPreferred, EMAIL_ONLY, ("ola@example.com",)),
        (Ch.Email, SMS_ONLY, ()),
        (Ch.Sms, EMAIL_ONLY, ()),
    ],
)
def test_organization_addresses_by_channel(channel: Ch, contact: Contact, expected: tuple[str, ...]) -> None:
    assert (
        resolve_addresses(order(RecipientPlan("organization", ORG), channel), {ORG_URN: contact}) == expected
    )


def test_unknown_party_has_no_address() -> None:
    assert resolve_addresses(order(RecipientPlan("organization", ORG)), {PERSON_URN: BOTH}) == ()
    assert resolve_addresses(order(RecipientPlan("person", SSN)), {ORG_URN: BOTH}) == ()


@pytest.mark.parametrize(
    ("reserved", "ignore", "expected"),
    [
        (False, None, ("ola@example.com",)),
        (True, None, ()),
        (True, False, ()),
        (True, True, ("ola@example.com",)),
    ],
)
def test_person_reserved_in_krr_gets_nothing_unless_reservation_is_ignored(
    reserved, ignore, expected
) -> None:
    contacts = {PERSON_URN: Contact("Ola", emails=("ola@example.com",), reserved=reserved)}
    assert (
        resolve_addresses(order(RecipientPlan("person", SSN), ignore_reservation=ignore), contacts)
        == expected
    )


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        (RecipientPlan("email", "Ola@Example.com"), ("Ola@Example.com",)),
        (RecipientPlan("sms", "+4798765432"), ("+4798765432",)),
    ],
)
def test_custom_address_is_its_own_address(plan: RecipientPlan, expected: tuple[str, ...]) -> None:
    assert resolve_addresses(order(plan, Ch.Sms if plan.kind == "email" else Ch.Email), {}) == expected


def test_external_identity_addresses() -> None:
    email_urn = "urn:altinn:person:idporten-email:ola@example.com"
    legacy_urn = "urn:altinn:person:legacy-selfidentified:ola"
    assert resolve_addresses(order(RecipientPlan("external", email_urn)), {}) == ("ola@example.com",)
    assert resolve_addresses(order(RecipientPlan("external", email_urn), Ch.Sms), {}) == ()
    assert resolve_addresses(order(RecipientPlan("external", legacy_urn)), {}) == ()
    registered = {
        legacy_urn: Contact("Ola", emails=("ola@x.no",)),
        email_urn: Contact("Ola", emails=("o@y.no",)),
    }
    assert resolve_addresses(order(RecipientPlan("external", legacy_urn)), registered) == ("ola@x.no",)
    assert resolve_addresses(order(RecipientPlan("external", email_urn)), registered) == ("o@y.no",)


def test_idporten_email_prefix_must_be_followed_by_a_colon() -> None:
    urn = "urn:altinn:person:idporten-emailola@example.com"
    assert resolve_addresses(order(RecipientPlan("external", urn)), {}) == ()


# --- which contacts to load ---------------------------------------------------------------------


def test_contact_urns_are_the_recipient_and_custom_parties() -> None:
    n = notification(
        custom_recipients=[
            {"organization_number": " 991825827 "},
            {"email_address": "a@b.no"},
            None,
            {"national_identity_number": f" {SSN} "},
            {"mobile_number": "+47"},
        ]
    )
    assert contact_urns(ORG_URN, n) == [
        ORG_URN,
        "urn:altinn:organization:identifier-no:991825827",
        PERSON_URN,
    ]
    assert contact_urns(PERSON_URN, notification()) == [PERSON_URN]
