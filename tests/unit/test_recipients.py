"""Recipient formats, SSN checksum and normalization (SPEC.md §4.2, §4.3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.recipients import (
    ON_BEHALF_OF_FORMAT_MESSAGE,
    ON_BEHALF_OF_SSN_MESSAGE,
    RECIPIENT_EMAIL_MESSAGE,
    RECIPIENT_EMPTY_MESSAGE,
    RECIPIENT_FORMAT_MESSAGE,
    RECIPIENT_SSN_MESSAGE,
    identifier,
    is_organization,
    is_person_ssn,
    is_valid_ssn,
    normalize_recipient,
    on_behalf_of_error,
    parse_party_reference,
    recipient_type,
    validate_recipient,
)


@pytest.mark.parametrize(
    "number",
    [
        "08900499559",
        "07827199405",
        "26818099001",  # SPEC examples
        "18865196381",  # Tenor test person (month + 80)
        "41018036736",  # D-number (day + 40)
        "15476200080",  # H-number (month + 40)
    ],
)
def test_valid_ssn_including_synthetic(number: str) -> None:
    assert is_valid_ssn(number)


@pytest.mark.parametrize(
    "number",
    [
        "08900499558",  # wrong second check digit
        "08900499569",  # wrong first check digit
        "0890049955",  # too short
        "089004995590",  # too long
        "0890049955a",
        "٠٨٩٠٠٤٩٩٥٥٩",  # non-ASCII digits
    ],
)
def test_invalid_ssn(number: str) -> None:
    assert not is_valid_ssn(number)


def test_ssn_whose_check_digit_would_be_10_is_invalid() -> None:
    base = "410180369"  # 11 - (weighted sum mod 11) == 10 for these nine digits
    assert not any(is_valid_ssn(f"{base}{d}{e}") for d in range(10) for e in range(10))


@pytest.mark.parametrize(
    "value",
    [
        "urn:altinn:organization:identifier-no:991825827",
        "0192:991825827",
        "urn:altinn:organization:identifier-no:123456789",  # no org checksum
        "urn:altinn:person:identifier-no:08900499559",
        "08900499559",
        "urn:altinn:person:idporten-email:user@example.com",
        "urn:altinn:person:legacy-selfidentified:olanordmann",
        "urn:altinn:person:legacy-selfidentified:123456789",
    ],
)
def test_accepted_recipient_formats(value: str) -> None:
    assert validate_recipient(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "123456789",  # plain org number
        "1234:123456789",  # other country code
        "urn:altinn:organization:identifier-no:12345678",
        "URN:altinn:organization:identifier-no:991825827",  # case-sensitive
        "urn:altinn:person:identifier-no:0890049955",
        "urn:altinn:person:legacy-selfidentified:a:b",
        "urn:altinn:person:legacy-selfidentified:",
        "991825827\n",
        "someone@example.com",
    ],
)
def test_rejected_recipient_formats(value: str) -> None:
    assert validate_recipient(value) == RECIPIENT_FORMAT_MESSAGE


@pytest.mark.parametrize("value", ["", "   "])
def test_blank_recipient(value: str) -> None:
    assert validate_recipient(value) == RECIPIENT_EMPTY_MESSAGE


@pytest.mark.parametrize("value", ["08900499558", "urn:altinn:person:identifier-no:08900499558"])
def test_ssn_recipient_must_pass_mod11(value: str) -> None:
    assert validate_recipient(value) == RECIPIENT_SSN_MESSAGE


@pytest.mark.parametrize(
    "email", ["epost:test@example.com", "user.example.com", "@example.com", "user@", "a@b@c.no"]
)
def test_email_urn_must_hold_an_email(email: str) -> None:
    assert validate_recipient(f"urn:altinn:person:idporten-email:{email}") == RECIPIENT_EMAIL_MESSAGE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0192:991825827", "urn:altinn:organization:identifier-no:991825827"),
        (
            "urn:altinn:organization:identifier-no:991825827",
            "urn:altinn:organization:identifier-no:991825827",
        ),
        ("08900499559", "urn:altinn:person:identifier-no:08900499559"),
        ("urn:altinn:person:identifier-no:08900499559", "urn:altinn:person:identifier-no:08900499559"),
        (
            "urn:altinn:person:idporten-email:Ola@Example.com",
            "urn:altinn:person:idporten-email:ola@example.com",
        ),
        (
            "urn:altinn:person:legacy-selfidentified:OlaNordmann",
            "urn:altinn:person:legacy-selfidentified:olanordmann",
        ),
        # a numeric self-identified username stays a legacy URN, not an organization or a person
        (
            "urn:altinn:person:legacy-selfidentified:123456789",
            "urn:altinn:person:legacy-selfidentified:123456789",
        ),
        (
            "urn:altinn:person:legacy-selfidentified:08900499559",
            "urn:altinn:person:legacy-selfidentified:08900499559",
        ),
        # §4.2 normalization step 3: an identifier that is an e-mail gets the ID-porten prefix
        ("Ola@Example.com", "urn:altinn:person:idporten-email:ola@example.com"),
    ],
)
def test_normalize_recipient(value: str, expected: str) -> None:
    assert normalize_recipient(value) == expected


def test_urn_parts() -> None:
    urn = "urn:altinn:organization:identifier-no:991825827"
    assert recipient_type(urn) == "urn:altinn:organization:identifier-no"
    assert identifier(urn) == "991825827"
    assert identifier("08900499559") == "08900499559"
    assert recipient_type("08900499559") == ""


@pytest.mark.parametrize(
    ("urn", "org", "ssn"),
    [
        ("urn:altinn:organization:identifier-no:991825827", True, False),
        ("0192:991825827", True, False),
        ("urn:altinn:person:identifier-no:08900499559", False, True),
        ("08900499559", False, True),
        ("urn:altinn:person:idporten-email:a@b.no", False, False),
        ("urn:altinn:person:legacy-selfidentified:ola", False, False),
        ("urn:altinn:person:legacy-selfidentified:123456789", False, False),
        ("urn:altinn:person:legacy-selfidentified:08900499559", False, False),
    ],
)
def test_kind_predicates(urn: str, org: bool, ssn: bool) -> None:
    assert is_organization(urn) is org
    assert is_person_ssn(urn) is ssn


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "urn:altinn:organization:identifier-no:991825827",
            "urn:altinn:organization:identifier-no:991825827",
        ),
        ("0192:991825827", "urn:altinn:organization:identifier-no:991825827"),
        ("urn:altinn:person:identifier-no:08900499559", "urn:altinn:person:identifier-no:08900499559"),
        ("08900499559", "urn:altinn:person:identifier-no:08900499559"),
        ("991825827", None),  # plain org numbers are not accepted
        ("08900499558", None),  # SSN mod-11
        ("urn:altinn:person:identifier-no:08900499558", None),
        ("urn:altinn:person:idporten-email:a@b.no", None),
        ("", None),
    ],
)
def test_parse_party_reference(value: str, expected: str | None) -> None:
    assert parse_party_reference(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0192:991825827", None),
        ("urn:altinn:organization:identifier-no:991825827", None),
        ("08900499559", None),
        ("urn:altinn:person:identifier-no:08900499559", None),
        ("18865196381", None),  # Tenor test person
        ("12345678901", ON_BEHALF_OF_SSN_MESSAGE),
        ("urn:altinn:person:identifier-no:12345678901", ON_BEHALF_OF_SSN_MESSAGE),
        ("invalid", ON_BEHALF_OF_FORMAT_MESSAGE),
        ("123456789", ON_BEHALF_OF_FORMAT_MESSAGE),
        ("0192:12345678", ON_BEHALF_OF_FORMAT_MESSAGE),
        ("urn:altinn:person:identifier-no:0890049955", ON_BEHALF_OF_FORMAT_MESSAGE),
        ("urn:altinn:invalid:991825827", ON_BEHALF_OF_FORMAT_MESSAGE),
        ("urn:altinn:organization:identifier-no:99182582x", ON_BEHALF_OF_FORMAT_MESSAGE),
        ("٠١٢٣٤٥٦٧٨٩٠", ON_BEHALF_OF_FORMAT_MESSAGE),  # non-ASCII digits
    ],
)
def test_on_behalf_of_rules_and_messages(value: str, message: str | None) -> None:
    """The original's OnBehalfOf attribute: org as URN or 0192, SSN plain or URN (mod-11)."""
    assert on_behalf_of_error(value) == message
    assert (parse_party_reference(value) is None) == (message is not None)


# The canonical organization URN is checked without a regex (most recipients of a large Initialize
# are one); these hold the shortcut to the regex answers it replaces.
_ORG_LIKE = st.builds(
    lambda prefix, digits: prefix + digits,
    st.sampled_from(
        [
            "urn:altinn:organization:identifier-no:",
            "URN:altinn:organization:identifier-no:",
            "urn:altinn:organization:identifier-no",
            "",
        ]
    ),
    st.text(st.sampled_from("0123456789٣²x: "), min_size=0, max_size=12),
)


@settings(max_examples=3000, deadline=None, database=None)
@given(st.one_of(_ORG_LIKE, st.text(max_size=60)))
def test_the_organization_shortcut_answers_as_the_patterns_do(value):
    from app.domain import recipients

    by_pattern = bool(recipients._URN_ORG.fullmatch(value))
    assert recipients._is_canonical_organization(value) == (by_pattern and value == value.lower())
    if recipients._is_canonical_organization(value):
        assert validate_recipient(value) is None
        assert normalize_recipient(value) == f"urn:altinn:organization:identifier-no:{identifier(value)}"
        assert is_organization(value) and not is_person_ssn(value)
