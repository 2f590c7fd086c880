"""The Initialize rule ladder at its edges (SPEC.md §4.1): limits, the order of neighbouring rules,
every value a valid request carries, and the rows. Expected values are the contract's, not the code's.

Shares the request and facts builders of test_initialize_rules.py.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from app.domain.enums import AttachmentStatus, ReferenceType
from app.domain.enums import CorrespondenceStatus as S
from app.domain.errors import CorrespondenceError
from app.domain.initialize import decide, is_https_url, with_recipient_name
from app.domain.initialize_rows import NewAttachment, new_rows
from app.domain.registry import Party
from tests.factories import ORG_RECIPIENT, PERSON_RECIPIENT, RESERVED_PERSON
from tests.unit.test_initialize_rules import (
    ATTACHMENT,
    DIALOG,
    IN_DAYS,
    NOTIFICATION,
    NOW,
    RESOURCE,
    SENDER,
    code_of,
    facts,
    published,
    request,
)

ORG_2 = "urn:altinn:organization:identifier-no:310654329"
TRANSMISSION = {"referenceType": "DialogportenTransmissionType", "referenceValue": "1"}
APP = replace(RESOURCE, resource_type="AltinnApp")
FILE = {"fileName": "a.txt", "sendersReference": "a"}


def content(**changes: Any) -> dict[str, Any]:
    return {"language": "nb", "messageTitle": "t", "messageBody": "b", **changes}


def ids(n: int) -> list[uuid.UUID]:
    return [uuid.UUID(int=i) for i in range(1, n + 1)]


def attachments(n: int, **changes: Any) -> dict[uuid.UUID, Any]:
    return {i: replace(published(), id=i, **changes) for i in ids(n)}


def raised(req: dict[str, Any], f=None) -> CorrespondenceError:
    with pytest.raises(CorrespondenceError) as caught:
        decide(req, f or facts())
    return caught.value


# ---- limits: the last value allowed passes, the first one beyond fails --------------------------


def test_1038_counts_existing_and_new_attachments_together_up_to_100():
    decide(request(existing=ids(100)), facts(attachments=attachments(100)))
    req = request(existing=ids(100), content=content(attachments=[FILE]))
    assert code_of(req, facts(attachments=attachments(100))) == 1038
    req = request(existing=ids(99), content=content(attachments=[FILE]))
    assert code_of(req, facts(attachments=attachments(99))) == 1005  # 100 in all: past 1038


def test_a_repeated_existing_attachment_is_taken_once():
    valid = decide(request(existing=[*ids(100), uuid.UUID(int=1)]), facts(attachments=attachments(100)))
    assert [a.id for a in valid.existing_attachments] == ids(100)


def test_1069_allows_exactly_10_000_000_bytes_existing_plus_uploaded():
    f = facts(
        attachments={ATTACHMENT: published(size=9_999_000)},
        upload_sizes=[600, 400],
        check_uploads=lambda e: None,
    )
    decide(request(existing=[ATTACHMENT], allowForwarding=True), f)
    assert (
        code_of(request(existing=[ATTACHMENT], allowForwarding=True), replace(f, upload_sizes=[600, 401]))
        == 1069
    )
    decide(request(existing=[ATTACHMENT]), replace(f, upload_sizes=[10_000_000]))  # no forwarding: no limit


def test_1069_sums_all_existing_attachments():
    f = facts(attachments=attachments(2, size=5_000_000))
    decide(request(existing=ids(2), allowForwarding=True), f)
    f = facts(attachments=attachments(2, size=5_000_001))
    assert code_of(request(existing=ids(2), allowForwarding=True), f) == 1069


def test_1068_only_for_an_auth_level_above_0():
    decide(request(allowForwarding=True), facts())
    level_1 = replace(RESOURCE, minimum_auth_level=1)
    assert code_of(request(allowForwarding=True), facts(resource=level_1)) == 1068
    decide(request(), facts(resource=replace(RESOURCE, minimum_auth_level=4)))


@pytest.mark.parametrize("hours, expected", [(5.99, 1055), (6.01, None), (-1, 1055)])
def test_1055_when_the_latest_link_expires_within_six_hours(hours, expected):
    f = facts(
        attachments={ATTACHMENT: published()}, latest_expirations={ATTACHMENT: NOW + timedelta(hours=hours)}
    )
    if expected is None:
        decide(request(existing=[ATTACHMENT]), f)
    else:
        assert code_of(request(existing=[ATTACHMENT]), f) == expected


def test_1055_looks_at_every_existing_attachment():
    f = facts(
        attachments=attachments(2),
        latest_expirations={uuid.UUID(int=1): None, uuid.UUID(int=2): NOW + timedelta(hours=1)},
    )
    assert code_of(request(existing=ids(2)), f) == 1055


def test_dates_equal_to_now_or_to_the_publish_time_are_allowed():
    valid = decide(request(dueDateTime=NOW.isoformat()), facts())
    assert valid.due_date_time == NOW and valid.requested_publish_time == NOW
    valid = decide(request(dueDateTime=IN_DAYS(2), requestedPublishTime=IN_DAYS(2)), facts())
    assert valid.due_date_time == valid.requested_publish_time == NOW + timedelta(days=2)
    assert (
        code_of(
            request(dueDateTime=(NOW - timedelta(seconds=1)).isoformat(), requestedPublishTime=IN_DAYS(-2)),
            facts(),
        )
        == 1008
    )


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://a.no", True),
        ("HTTPS://A.NO/x", True),
        ("https://a.no/" + "x" * 242, True),  # 255 characters
        ("https://a.no/" + "x" * 243, False),  # 256
        ("http://a.no", False),
        ("ftp://a.no", False),
        ("https://", False),
        ("https:///path", False),
        ("https://a.no/a b", False),
        ("https://a.no/a\tb", False),
        ("https://[::1", False),  # not well-formed
        ("", False),
        (None, False),
    ],
)
def test_reply_option_urls_are_absolute_https_and_at_most_255_characters(url, ok):
    assert is_https_url(url) is ok


def test_1035_for_any_bad_reply_option_and_none_for_good_ones():
    good, bad = {"linkURL": "https://a.no"}, {"linkURL": "https://a.no/" + "x" * 243}
    assert code_of(request(replyOptions=[good, bad]), facts()) == 1035
    valid = decide(request(replyOptions=[good, {"linkURL": "HTTPS://b.no", "linkText": "B"}]), facts())
    assert valid.reply_options == (("https://a.no", None), ("HTTPS://b.no", "B"))


# ---- conditions of single rules -----------------------------------------------------------------


def test_an_altinn_app_resource_is_allowed_only_for_a_transmission_and_skips_confidentiality():
    generic = {"referenceType": "Generic", "referenceValue": "x"}
    assert code_of(request(externalReferences=[generic]), facts(resource=APP)) == 4010
    assert code_of(request(externalReferences=[DIALOG]), facts(resource=APP)) == 1054  # past 4010
    assert (
        code_of(
            request(externalReferences=[generic, DIALOG]),
            facts(resource=replace(APP, confidentiality="Confidential")),
        )
        == 1054
    )
    assert code_of(request(externalReferences=[DIALOG], isConfidential=True), facts(resource=APP)) == 1054
    assert code_of(request(externalReferences=[DIALOG], isConfidential=True), facts()) == 1061


def test_confidentiality_must_match_the_resource_unless_it_is_explicitly_delegated():
    confidential = replace(RESOURCE, confidentiality="Confidential")
    assert decide(request(isConfidential=True), facts(resource=confidential)).is_confidential is True
    assert decide(request(), facts()).is_confidential is False
    either = replace(RESOURCE, confidentiality="ExplicitlyDelegated")
    for flag in (True, False):
        assert decide(request(isConfidential=flag), facts(resource=either)).is_confidential is flag


def test_1047_only_with_more_than_one_recipient_and_1034_only_for_a_used_key():
    key = uuid.uuid4()
    assert decide(request(key=str(key)), facts()).idempotency_key == key
    assert decide(request(), facts(idempotency_key_exists=True)).idempotency_key is None


def test_1029_names_every_missing_recipient_in_request_order():
    error = raised(request([PERSON_RECIPIENT, ORG_RECIPIENT, ORG_2]), facts(require_known_recipients=True))
    assert error.code == 1029 and error.detail.endswith(f": {PERSON_RECIPIENT}, {ORG_2}")
    known = {u: Party(u, "x") for u in (PERSON_RECIPIENT, ORG_RECIPIENT)}
    decide(request([PERSON_RECIPIENT, ORG_RECIPIENT]), facts(require_known_recipients=True, parties=known))


def test_1030_names_the_recipient_and_ignore_reservation_false_does_not_ignore():
    error = raised(request([RESERVED_PERSON], ignoreReservation=False))
    assert error.code == 1030 and RESERVED_PERSON in error.detail
    assert decide(request([RESERVED_PERSON], ignoreReservation=True), facts()).ignore_reservation is True


def test_only_persons_can_be_reserved():
    parties = {ORG_RECIPIENT: Party(ORG_RECIPIENT, "Eksempel AS", reserved=True)}
    valid = decide(request([ORG_RECIPIENT]), facts(parties=parties))
    assert [r.reserved for r in valid.recipients] == [False]
    valid = decide(request([RESERVED_PERSON, PERSON_RECIPIENT]), facts())  # unknown person: not reserved
    assert [r.reserved for r in valid.recipients] == [True, False]


def test_recipients_are_unique_after_normalization():
    assert code_of(request([PERSON_RECIPIENT, "08900499559"]), facts()) == 1006
    valid = decide(request(["0192:313721779"]), facts())
    assert [(r.urn, r.name) for r in valid.recipients] == [(ORG_RECIPIENT, "Eksempel AS")]


def test_language_is_nb_when_blank_and_checked_without_case():
    for given in (None, "  "):
        assert decide(request(content=content(language=given)), facts()).language == "nb"
    assert decide(request(content=content(language="EN")), facts()).language == "EN"  # stored as sent
    assert code_of(request(content=content(language="SE")), facts()) == 1023


def test_an_empty_message_sender_is_not_checked():
    assert decide(request(messageSender=""), facts()).message_sender == ""
    assert decide(request(), facts()).message_sender is None


@pytest.mark.parametrize(
    "refs, extra, expected",
    [
        ([TRANSMISSION, DIALOG], {}, 1054),  # one transmission type is allowed
        ([DIALOG, TRANSMISSION], {}, 1054),
        ([DIALOG, dict(DIALOG, referenceValue="x")], {}, 1048),  # every dialog id is checked
        ([DIALOG], {"isConfirmationNeeded": True, "dueDateTime": IN_DAYS(1)}, 1051),
        ([DIALOG], {"replyOptions": [{"linkURL": "https://a.no"}]}, 1051),
    ],
)
def test_transmission_rules(refs, extra, expected):
    assert code_of(request(externalReferences=refs, **extra), facts()) == expected


def test_a_transmission_needs_exactly_one_recipient():
    assert code_of(request([ORG_RECIPIENT, PERSON_RECIPIENT], externalReferences=[DIALOG]), facts()) == 1045


def test_uploads_are_checked_with_the_new_entries_and_may_pass():
    seen = []
    valid = decide(request(content=content(attachments=[FILE])), facts(check_uploads=seen.append))
    assert [e["file_name"] for e in seen[0]] == ["a.txt"]
    assert [e["file_name"] for e in valid.new_attachment_entries] == ["a.txt"]
    decide(request(), facts(check_uploads=seen.append))
    assert seen[1] == []


def test_notification_needs_the_template_and_gets_the_recipient_count():
    valid = decide(request(notification=NOTIFICATION), facts())
    assert valid.notification["notification_template"] == 1
    custom = dict(NOTIFICATION, customRecipients=[{"emailAddress": "a@b.no"}])
    assert decide(request(notification=custom), facts()).notification["custom_recipients"]
    assert code_of(request(notification=custom), facts(template_exists=False)) == 3001


# ---- the order of neighbouring rules: with both broken, the earlier one answers -----------------


def _foreign_and_missing():
    return request(existing=ids(2)), facts(attachments={uuid.UUID(int=1): published(sender="urn:x:1")})


@pytest.mark.parametrize(
    "case, expected",
    [
        (lambda: (request(key=str(uuid.uuid4())), facts(idempotency_key_exists=True, resource=None)), 1034),
        (lambda: (request(), facts(resource=None, caller_organization="310654329")), 1036),
        (
            lambda: (request(), facts(caller_organization="310654329", resource=APP, caller_party_urn=None)),
            4001,
        ),
        (lambda: (request(), facts(resource=APP, caller_party_urn=None)), 4010),
        (lambda: (request(isConfidential=True), facts(caller_party_urn=None)), 4006),
        (
            lambda: (
                request(allowForwarding=True),
                facts(resource=replace(RESOURCE, confidentiality="Confidential", minimum_auth_level=3)),
            ),
            1060,
        ),
        (
            lambda: (
                request([ORG_RECIPIENT, "0192:313721779"], allowForwarding=True),
                facts(resource=replace(RESOURCE, minimum_auth_level=3)),
            ),
            1068,
        ),
        (lambda: (request([PERSON_RECIPIENT, PERSON_RECIPIENT]), facts(require_known_recipients=True)), 1006),
        (
            lambda: (
                request([PERSON_RECIPIENT], isConfirmationNeeded=True),
                facts(require_known_recipients=True),
            ),
            1029,
        ),
        (lambda: (request([RESERVED_PERSON], isConfirmationNeeded=True), facts()), 1016),
        (lambda: (request([RESERVED_PERSON], dueDateTime=IN_DAYS(-1)), facts()), 1030),
        (lambda: (request(dueDateTime=IN_DAYS(-1), requestedPublishTime=IN_DAYS(1)), facts()), 1008),
        (
            lambda: (
                request(
                    dueDateTime=IN_DAYS(1),
                    requestedPublishTime=IN_DAYS(2),
                    content=content(messageTitle="# t"),
                ),
                facts(),
            ),
            1009,
        ),
        (lambda: (request(content=content(messageTitle="# t", messageBody="<b>x</b>")), facts()), 1002),
        (lambda: (request(content=content(messageBody="<b>x</b>", language="se")), facts()), 1003),
        (lambda: (request(content=content(language="se"), messageSender="# E"), facts()), 1023),
        (lambda: (request(messageSender="# E", externalReferences=[TRANSMISSION]), facts()), 1039),
        (
            lambda: (
                request(externalReferences=[TRANSMISSION, TRANSMISSION, dict(DIALOG, referenceValue="x")]),
                facts(),
            ),
            1052,
        ),
        (lambda: (request(externalReferences=[TRANSMISSION, TRANSMISSION]), facts()), 1052),
        (lambda: (request(externalReferences=[TRANSMISSION], existing=[ATTACHMENT]), facts()), 1053),
        (lambda: (request(externalReferences=[DIALOG], existing=[ATTACHMENT]), facts()), 1054),
        (_foreign_and_missing, 1017),
        (lambda: (request(existing=ids(101)), facts(attachments=attachments(100))), 1007),
        (
            lambda: (request(existing=ids(101)), facts(attachments=attachments(101, current_status=None))),
            1038,
        ),
        (
            lambda: (
                request(existing=[ATTACHMENT], allowForwarding=True),
                facts(attachments={ATTACHMENT: published(size=10**8, status=AttachmentStatus.Purged)}),
            ),
            1018,
        ),
        (
            lambda: (
                request(allowForwarding=True, existing=[ATTACHMENT], content=content(attachments=[FILE])),
                facts(attachments={ATTACHMENT: published(size=10**8)}),
            ),
            1069,
        ),
        (
            lambda: (request(allowForwarding=True), facts(upload_sizes=[10**8], check_uploads=_fail_2012)),
            1069,
        ),
        (
            lambda: (
                request(existing=[ATTACHMENT], content=content(attachments=[FILE])),
                facts(attachments={ATTACHMENT: published()}, latest_expirations={ATTACHMENT: NOW}),
            ),
            1005,
        ),
        (
            lambda: (
                request(existing=[ATTACHMENT]),
                facts(
                    attachments={ATTACHMENT: published()},
                    latest_expirations={ATTACHMENT: NOW},
                    check_uploads=_fail_2012,
                ),
            ),
            2012,
        ),
        (
            lambda: (
                request(existing=[ATTACHMENT], replyOptions=[{"linkURL": "http://a.no"}]),
                facts(attachments={ATTACHMENT: published()}, latest_expirations={ATTACHMENT: NOW}),
            ),
            1055,
        ),
        (
            lambda: (
                request(notification=dict(NOTIFICATION, customRecipients=[{}])),
                facts(template_exists=False),
            ),
            3001,
        ),
    ],
)
def test_the_earlier_rule_answers(case, expected):
    req, f = case()
    assert code_of(req, f) == expected


def _fail_2012(entries):
    raise CorrespondenceError(2012)


# ---- every value of a valid request -------------------------------------------------------------


def test_a_valid_request_carries_every_value_as_given():
    existing = ids(2)
    f = facts(attachments=attachments(2))
    valid = decide(
        request(
            [PERSON_RECIPIENT],
            existing=existing[::-1] + existing,
            sendersReference="ref-9",
            requestedPublishTime=IN_DAYS(1),
            dueDateTime=IN_DAYS(2),
            isConfirmationNeeded=True,
            ignoreReservation=False,
            allowForwarding=True,
            content=content(messageSummary="s", messageBody="**b**", language="nn"),
        ),
        f,
    )
    assert valid.resource == RESOURCE and valid.sender == SENDER
    assert valid.recipients[0].urn == PERSON_RECIPIENT and not valid.recipients[0].reserved
    assert valid.senders_reference == "ref-9"
    assert valid.requested_publish_time == NOW + timedelta(days=1)
    assert valid.due_date_time == NOW + timedelta(days=2)
    assert valid.ignore_reservation is False and valid.is_confirmation_needed is True
    assert valid.allow_forwarding is True and valid.is_confidential is False and valid.notification is None
    texts = (valid.language, valid.message_title, valid.message_summary, valid.message_body)
    assert texts == ("nn", "t", "s", "**b**")
    assert valid.existing_attachments == (f.attachments[existing[1]], f.attachments[existing[0]])
    assert valid.idempotency_key is None and valid.new_attachment_entries == ()
    assert valid.property_list == {} and valid.external_references == () and valid.reply_options == ()


def test_absent_optional_parts_read_as_empty():
    valid = decide(
        request(
            propertyList=None,
            externalReferences=None,
            replyOptions=None,
            ignoreReservation=None,
            content=content(messageSummary=None, attachments=None),
        ),
        facts(),
    )
    assert valid.property_list == {} and valid.external_references == () and valid.reply_options == ()
    assert valid.message_summary == "" and valid.new_attachment_entries == ()
    assert valid.ignore_reservation is None and valid.due_date_time is None
    assert valid.allow_forwarding is False and valid.is_confirmation_needed is False
    body = request()
    body["existing_attachments"] = None
    assert decide(body, facts()).existing_attachments == ()


def test_external_references_keep_their_types_and_values():
    refs = [
        {"referenceType": "Generic", "referenceValue": "a"},
        {"referenceType": "AltinnAppInstance", "referenceValue": "b"},
    ]
    valid = decide(request(externalReferences=refs), facts())
    assert valid.external_references == ((ReferenceType.Generic, "a"), (ReferenceType.AltinnAppInstance, "b"))


# ---- the rows -----------------------------------------------------------------------------------


def _valid(**changes: Any):
    return replace(decide(request([ORG_RECIPIENT, PERSON_RECIPIENT]), facts()), **changes)


@pytest.mark.parametrize("field", ["message_title", "message_summary", "message_body"])
def test_the_placeholder_in_any_text_keeps_the_recipient_names(field):
    valid = _valid(**{field: "Hei {{recipientName}}"})
    assert valid.uses_recipient_name
    names = [c.recipient_name for c in new_rows(valid, [], NOW).correspondences]
    assert names == ["Eksempel AS", "08900499559"]
    assert not _valid(**{field: "Hei {{recipientname}}"}).uses_recipient_name


def test_with_recipient_name_fills_every_placeholder():
    assert with_recipient_name("{{recipientName}} og {{recipientName}}", "Kari") == "Kari og Kari"
    assert with_recipient_name("{{recipientName}}", "") == ""


def test_ready_for_publish_only_when_every_new_attachment_is_published():
    up = [
        NewAttachment(uuid.UUID(int=20), None, published=True),
        NewAttachment(uuid.UUID(int=21), None, published=False),
    ]
    rows = new_rows(_valid(), up, NOW)
    assert [c.status for c in rows.correspondences] == [S.Initialized, S.Initialized]
    rows = new_rows(_valid(), [replace(up[1], published=True), up[0]], NOW)
    assert [c.status for c in rows.correspondences] == [S.ReadyForPublish, S.ReadyForPublish]
    assert all(type(c.status) is int for c in rows.correspondences)


def test_reserved_stays_reserved_without_notification_orders_even_while_uploads_are_pending():
    valid = decide(request([RESERVED_PERSON, ORG_RECIPIENT], notification=NOTIFICATION), facts())
    rows = new_rows(valid, [NewAttachment(uuid.UUID(int=20), None, published=False)], NOW)
    assert [c.status for c in rows.correspondences] == [S.Reserved, S.Initialized]
    assert [c.wants_notification_orders for c in rows.correspondences] == [False, True]
    assert [c.recipient for c in rows.correspondences] == [RESERVED_PERSON, ORG_RECIPIENT]
    rows = new_rows(_valid(), [], NOW)
    assert rows.awaiting_orders == [] and not any(c.wants_notification_orders for c in rows.correspondences)


def test_links_expire_from_the_later_of_publish_time_and_now_and_never_without_days():
    up = [NewAttachment(uuid.UUID(int=20), None, published=True), NewAttachment(uuid.UUID(int=21), 14, True)]
    existing = (replace(published(), expiration_in_days=1),)
    later = NOW + timedelta(hours=3)
    rows = new_rows(_valid(existing_attachments=existing), up, later)  # publish time NOW is past
    assert [(a.attachment_id, a.expiration_time) for a in rows.attachments] == [
        (uuid.UUID(int=20), None),
        (uuid.UUID(int=21), later + timedelta(days=14)),
        (ATTACHMENT, later + timedelta(days=1)),
    ]
    assert rows.created == later
    assert isinstance(rows.id, uuid.UUID) and all(isinstance(c.id, uuid.UUID) for c in rows.correspondences)
