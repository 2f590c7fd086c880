"""Recipient identifiers: validation, checksum and normalization (SPEC.md §4.2, §4.3).

Pure: no Flask, no SQL. Regexes use `[0-9]` (not `\\d`) so that non-ASCII digits never match.
"""

from __future__ import annotations

import re

from stdnum.no import fodselsnummer

ORGANIZATION_PREFIX = "urn:altinn:organization:identifier-no"
ISO6523_PREFIX = "0192"
PERSON_PREFIX = "urn:altinn:person:identifier-no"
IDPORTEN_EMAIL_PREFIX = "urn:altinn:person:idporten-email"
LEGACY_SELF_IDENTIFIED_PREFIX = "urn:altinn:person:legacy-selfidentified"

RECIPIENT_EMPTY_MESSAGE = "Recipients can not contain null or empty values"
RECIPIENT_FORMAT_MESSAGE = (
    f"Recipient should be an organization number in the format '{ORGANIZATION_PREFIX}:organizationnumber' "
    "or the format countrycode:organizationnumber, for instance 0192:910753614, a national identity number, "
    f"an idporten email URN in the format '{IDPORTEN_EMAIL_PREFIX}:email', or a legacy selfidentified URN "
    f"in the format '{LEGACY_SELF_IDENTIFIED_PREFIX}:username'"
)
RECIPIENT_SSN_MESSAGE = "The given Recipient national identity number is not valid"
RECIPIENT_EMAIL_MESSAGE = "The given Recipient email address is not valid"

_URN_ORG = re.compile(rf"{re.escape(ORGANIZATION_PREFIX)}:[0-9]{{9}}")
_ISO_ORG = re.compile(rf"{ISO6523_PREFIX}:[0-9]{{9}}")
_URN_PERSON = re.compile(rf"{re.escape(PERSON_PREFIX)}:[0-9]{{11}}")
_PLAIN_SSN = re.compile(r"[0-9]{11}")
_EMAIL_URN = re.compile(rf"{re.escape(IDPORTEN_EMAIL_PREFIX)}:(.+)")
_LEGACY_URN = re.compile(rf"{re.escape(LEGACY_SELF_IDENTIFIED_PREFIX)}:[^:]+")
# The formats above as one pattern, for OpenAPI: everything validate_recipient checks except the SSN
# checksum (prefixes hold no regex syntax; `[^:@\n]` is the e-mail test; Python's `.` is `[^\n]`).
RECIPIENT_PATTERN = (
    "^("
    + "|".join(
        [
            f"{ORGANIZATION_PREFIX}:[0-9]{{9}}",
            f"{ISO6523_PREFIX}:[0-9]{{9}}",
            f"{LEGACY_SELF_IDENTIFIED_PREFIX}:[^:]+",
            f"{PERSON_PREFIX}:[0-9]{{11}}",
            "[0-9]{11}",
            f"{IDPORTEN_EMAIL_PREFIX}:[^:@\n]+@[^:@\n]+",
        ]
    )
    + ")$"
)
_NINE_DIGITS = re.compile(r"[0-9]{9}")
_ORG_URN_START = ORGANIZATION_PREFIX + ":"
_ORG_URN_LENGTH = len(_ORG_URN_START) + 9
_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")


def is_valid_ssn(number: str) -> bool:
    """Mod-11 check of an 11-digit national identity number; no birth-date check.

    Accepts synthetic numbers (D-, H- and Tenor numbers). The stdnum helpers return '10'
    for an impossible check digit, which never equals a single digit.
    """
    if not isinstance(number, str) or not _ELEVEN_DIGITS.fullmatch(number):
        return False
    return (
        fodselsnummer.calc_check_digit1(number[:9]) == number[9]
        and fodselsnummer.calc_check_digit2(number[:10]) == number[10]
    )


def is_email_value(value: str) -> bool:
    """The loose e-mail test of ID-porten URNs: exactly one '@', not first/last, no ':'."""
    return (
        value.count("@") == 1 and not value.startswith("@") and not value.endswith("@") and ":" not in value
    )


def _is_canonical_organization(value: str) -> bool:
    """`urn:altinn:organization:identifier-no:<9 ASCII digits>`, lower case, without a regex: most
    recipients of a large Initialize look like this, and each is checked several times."""
    if len(value) != _ORG_URN_LENGTH or not value.startswith(_ORG_URN_START):
        return False
    digits = value[len(_ORG_URN_START) :]
    return digits.isascii() and digits.isdigit()


def validate_recipient(value: str) -> str | None:
    """Return None when `value` is an accepted recipient, else the validation message."""
    if isinstance(value, str) and _is_canonical_organization(value):
        return None
    if not isinstance(value, str) or not value.strip():
        return RECIPIENT_EMPTY_MESSAGE
    if _URN_ORG.fullmatch(value) or _ISO_ORG.fullmatch(value) or _LEGACY_URN.fullmatch(value):
        return None
    if _URN_PERSON.fullmatch(value) or _PLAIN_SSN.fullmatch(value):
        return None if is_valid_ssn(identifier(value)) else RECIPIENT_SSN_MESSAGE
    email = _EMAIL_URN.fullmatch(value)
    if email:
        return None if is_email_value(email.group(1)) else RECIPIENT_EMAIL_MESSAGE
    return RECIPIENT_FORMAT_MESSAGE


def normalize_recipient(value: str) -> str:
    """Canonical, lower-cased URN of an (already validated) recipient (§4.2 normalization)."""
    if _is_canonical_organization(value):
        return value
    lowered = value.lower()
    if lowered.startswith(LEGACY_SELF_IDENTIFIED_PREFIX + ":"):
        return lowered
    ident = identifier(lowered)
    if _NINE_DIGITS.fullmatch(ident):
        return f"{ORGANIZATION_PREFIX}:{ident}"
    if _ELEVEN_DIGITS.fullmatch(ident):
        return f"{PERSON_PREFIX}:{ident}"
    if "@" in ident:
        return f"{IDPORTEN_EMAIL_PREFIX}:{ident}"
    return lowered


def recipient_type(urn: str) -> str:
    """Everything before the last ':' ('' for a plain identifier)."""
    return urn.rpartition(":")[0]


def identifier(urn: str) -> str:
    """Everything after the last ':' (the whole string when there is none)."""
    return urn.rpartition(":")[2]


def is_organization(urn: str) -> bool:
    """True for `urn:altinn:organization:identifier-no:<9 digits>` (or `0192:<9 digits>`)."""
    if _is_canonical_organization(urn):
        return True
    return bool(_URN_ORG.fullmatch(urn.lower()) or _ISO_ORG.fullmatch(urn))


def is_person_ssn(urn: str) -> bool:
    """True for `urn:altinn:person:identifier-no:<11 digits>` or a plain 11-digit number."""
    if urn.startswith(_ORG_URN_START):
        return False
    return bool(_URN_PERSON.fullmatch(urn.lower()) or _PLAIN_SSN.fullmatch(urn))


ON_BEHALF_OF_SSN_MESSAGE = "The given OnBehalfOf national identity number is not valid"
ON_BEHALF_OF_FORMAT_MESSAGE = (
    "OnBehalfOf must be either a valid organization number "
    f"(format: '{ORGANIZATION_PREFIX}:organizationnumber' or '{ISO6523_PREFIX}:organizationnumber') "
    "or a valid national identity number (format: "
    f"'{PERSON_PREFIX}:nationalidentitynumber' or just 'nationalidentitynumber')"
)


def on_behalf_of_error(value: str) -> str | None:
    """The validation message for a malformed search `onBehalfOf` (SPEC.md §3.6, §4.2), None when valid."""
    if _URN_ORG.fullmatch(value) or _ISO_ORG.fullmatch(value):
        return None
    if _URN_PERSON.fullmatch(value) or _PLAIN_SSN.fullmatch(value):
        return None if is_valid_ssn(identifier(value)) else ON_BEHALF_OF_SSN_MESSAGE
    return ON_BEHALF_OF_FORMAT_MESSAGE


def parse_party_reference(value: str) -> str | None:
    """Parse `onBehalfOf`: URN/0192 org or URN/plain SSN (mod-11 checked) → normalized URN, else None."""
    if not isinstance(value, str):
        return None
    if _URN_ORG.fullmatch(value) or _ISO_ORG.fullmatch(value):
        return normalize_recipient(value)
    if (_URN_PERSON.fullmatch(value) or _PLAIN_SSN.fullmatch(value)) and is_valid_ssn(identifier(value)):
        return normalize_recipient(value)
    return None
