"""`Prefer: wait=N` parsing (RFC 7240): however the client splits its preferences over headers."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.datastructures import Headers

from app.api.correspondences import _preferred_wait


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], None),
        ([("Prefer", "wait=5")], 5.0),
        ([("Prefer", "respond-async, wait=7")], 7.0),
        ([("Prefer", "respond-async"), ("Prefer", "wait=3")], 3.0),  # a second header line
        ([("Prefer", 'WAIT="2.5"')], 2.5),
        ([("Prefer", "wait=999")], 30.0),
        ([("Prefer", "wait=-1")], 0.0),
        ([("Prefer", "wait=soon")], None),
        ([("Prefer", "wait=nan")], None),
        ([("Prefer", "handling=lenient")], None),
    ],
)
def test_preferred_wait(headers: list[tuple[str, str]], expected: float | None) -> None:
    with Flask(__name__).test_request_context(headers=Headers(headers)):
        assert _preferred_wait() == expected
