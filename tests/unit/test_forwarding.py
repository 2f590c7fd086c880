"""Rules of forwarding a correspondence by e-mail (SPEC.md §3.10), in the contract's order."""

from __future__ import annotations

import pytest

from app.domain.forwarding import address_key, forwarding_error

OK = {"allow_forwarding": True, "has_been_read": True}


def error(forward_to: str = "kari@example.no", text: str | None = None, **changes: bool) -> int | None:
    return forwarding_error(forward_to, text, **{**OK, **changes})


def test_a_read_forwardable_correspondence_may_be_forwarded_with_or_without_text():
    assert error() is None
    assert error(text="Til deg") is None
    assert error(text="") is None


@pytest.mark.parametrize("address", ["kari", "kari@", "@example.no", "kari@example", "a@b.no;c@d.no", ""])
def test_3011_for_an_address_the_custom_recipient_rule_rejects(address):
    assert error(address) == 3011


def test_3027_for_an_address_longer_than_1000_characters():
    domain = "@example.no"
    assert error("a" * (1000 - len(domain)) + domain) is None
    assert error("a" * (1001 - len(domain)) + domain) == 3027


def test_1063_when_the_correspondence_does_not_allow_forwarding():
    assert error(allow_forwarding=False) == 1063


def test_1066_for_a_text_longer_than_200_characters():
    assert error(text="x" * 200) is None
    assert error(text="x" * 201) == 1066


def test_1067_for_a_text_that_is_not_plain():
    assert error(text="# Overskrift") == 1067
    assert error(text="<b>hei</b>") == 1067


def test_1065_when_the_correspondence_has_never_been_read():
    assert error(has_been_read=False) == 1065


@pytest.mark.parametrize(
    "args, changes, expected",
    [
        (("a" * 1001, None), {"allow_forwarding": False}, 3011),  # no '@': the address rule first
        (("a" * 1000 + "@example.no", None), {"allow_forwarding": False}, 3027),
        (("kari@example.no", "x" * 201), {"allow_forwarding": False}, 1063),
        (("kari@example.no", "<b>" + "x" * 200 + "</b>"), {}, 1066),
        (("kari@example.no", "# x"), {"has_been_read": False}, 1067),
    ],
)
def test_the_earlier_rule_answers(args, changes, expected):
    assert forwarding_error(*args, **{**OK, **changes}) == expected


def test_the_same_address_trimmed_and_lower_cased_is_the_same_recipient():
    assert address_key("  Kari.Nordmann@Example.NO \t") == "kari.nordmann@example.no"
