"""Recipient identifiers, checked before sending by the service's own rules (SPEC §4.2, §4.3).

Accepted, as by the service: `urn:altinn:organization:identifier-no:<9 digits>`, `0192:<9 digits>`,
`urn:altinn:person:identifier-no:<11 digits>` and a plain 11-digit national identity number (both
mod-11 checked, no date check, so synthetic D-, H- and Tenor numbers pass when their check digits are
right), `urn:altinn:person:idporten-email:<e-mail>` and `urn:altinn:person:legacy-selfidentified:<name>`.
Organization numbers have no checksum (any 9 digits), as in the service.

One convenience the service does not offer: a plain 9-digit organization number (the service answers
400 to it) is taken as `urn:altinn:organization:identifier-no:<number>`. Surrounding whitespace is
dropped. Everything is normalized as the service normalizes it (lower case, canonical URN), so
duplicates are found as the service would find them (its error 1006).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ORGANIZATION_PREFIX = "urn:altinn:organization:identifier-no"
PERSON_PREFIX = "urn:altinn:person:identifier-no"
IDPORTEN_EMAIL_PREFIX = "urn:altinn:person:idporten-email"
LEGACY_PREFIX = "urn:altinn:person:legacy-selfidentified"

_URN_ORG = re.compile(rf"{re.escape(ORGANIZATION_PREFIX)}:[0-9]{{9}}")
_ISO_ORG = re.compile(r"0192:[0-9]{9}")
_PLAIN_ORG = re.compile(r"[0-9]{9}")
_URN_PERSON = re.compile(rf"{re.escape(PERSON_PREFIX)}:[0-9]{{11}}")
_PLAIN_SSN = re.compile(r"[0-9]{11}")
_EMAIL_URN = re.compile(rf"{re.escape(IDPORTEN_EMAIL_PREFIX)}:(.+)", re.DOTALL)
_LEGACY_URN = re.compile(rf"{re.escape(LEGACY_PREFIX)}:[^:]+", re.DOTALL)

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    k = 11 - sum(int(d) * w for d, w in zip(digits, weights)) % 11
    return 0 if k == 11 else (None if k == 10 else k)


def is_valid_ssn(number: str) -> bool:
    """Mod-11 check of an 11-digit national identity number (fødselsnummer, D-, H- or Tenor number)."""
    if not _PLAIN_SSN.fullmatch(number or ""):
        return False
    k1 = _check_digit(number[:9], _W1)
    k2 = _check_digit(number[:10], _W2)
    return k1 is not None and k2 is not None and int(number[9]) == k1 and int(number[10]) == k2


def _is_email(value: str) -> bool:
    return (
        value.count("@") == 1 and not value.startswith("@") and not value.endswith("@") and ":" not in value
    )


@dataclass(frozen=True)
class Recipient:
    urn: str | None  # normalized URN to send; None when invalid
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.urn is not None


def parse_recipient(value: str) -> Recipient:
    """The normalized URN of one recipient as written in a file, or why it is not one."""
    text = (value or "").strip()
    if not text:
        return Recipient(None, "empty recipient")
    if _PLAIN_ORG.fullmatch(text) or _ISO_ORG.fullmatch(text) or _URN_ORG.fullmatch(text):
        return Recipient(f"{ORGANIZATION_PREFIX}:{text[-9:]}")
    if _PLAIN_SSN.fullmatch(text) or _URN_PERSON.fullmatch(text):
        number = text[-11:]
        if not is_valid_ssn(number):
            return Recipient(None, f"invalid national identity number {number} (mod-11 check digits)")
        return Recipient(f"{PERSON_PREFIX}:{number}")
    if _LEGACY_URN.fullmatch(text):
        return Recipient(text.lower())
    email = _EMAIL_URN.fullmatch(text)
    if email:
        if not _is_email(email.group(1)):
            return Recipient(None, f"invalid e-mail address in {text!r}")
        return Recipient(f"{IDPORTEN_EMAIL_PREFIX}:{email.group(1).lower()}")
    digits = re.sub(r"[0-9]", "", text) == "" and text.isascii()
    if digits:
        return Recipient(
            None,
            f"{text!r}: {len(text)} digits (an organization number has 9, a national identity number 11)",
        )
    return Recipient(
        None, f"{text!r} is not an organization number, a national identity number or a recipient URN"
    )


def normalize_recipient(value: str) -> str:
    """The normalized URN; ValueError when `value` is not a recipient."""
    parsed = parse_recipient(value)
    if parsed.urn is None:
        raise ValueError(parsed.error)
    return parsed.urn
