"""The two kinds of client errors (SPEC.md §4.10, §7.4)."""

from __future__ import annotations

import pytest

from app.domain.errors import CATALOGUE, CorrespondenceError, ValidationProblem


def test_numbered_error_carries_code_status_and_detail() -> None:
    exc = CorrespondenceError(1005)
    assert (exc.code, exc.status, exc.detail) == (
        1005,
        400,
        "Mismatch between uploaded files and attachment metadata",
    )
    assert str(exc) == "1005: Mismatch between uploaded files and attachment metadata"


def test_status_comes_from_the_catalogue() -> None:
    assert [CorrespondenceError(code).status for code in (1001, 1030, 1034, 2002, 2022, 4001)] == [
        404,
        422,
        409,
        502,
        408,
        401,
    ]


def test_parameters_fill_the_detail() -> None:
    exc = CorrespondenceError(1029, recipients="a, b")
    assert exc.detail == "Could not find partyId for the following recipients: a, b"
    assert str(exc) == "1029: Could not find partyId for the following recipients: a, b"


def test_without_parameters_the_text_is_left_as_it_is() -> None:
    assert CorrespondenceError(1029).detail == CATALOGUE[1029][1]


def test_unknown_code_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        CorrespondenceError(9999)


def test_validation_problem_lists_messages_per_field() -> None:
    exc = ValidationProblem({"Correspondence.Content": ["required", "too long"], "Recipients": ["empty"]})
    assert exc.errors == {"Correspondence.Content": ["required", "too long"], "Recipients": ["empty"]}
    assert str(exc) == "Correspondence.Content: required, too long; Recipients: empty"


def test_single_validation_problem() -> None:
    exc = ValidationProblem.single("Recipients", "empty")
    assert isinstance(exc, ValidationProblem)
    assert (exc.errors, str(exc)) == ({"Recipients": ["empty"]}, "Recipients: empty")
