"""Attachment file rules (SPEC.md §3.3, §3.9, §4.7). Moved here from tests/attachments: pure, no storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.attachment_rules import (
    MIME_TYPES,
    check_expiration,
    check_file_name,
    check_file_size,
    data_type,
    disposition_type,
    download_content_type,
    expiring_soon,
    extension,
    file_name_error,
    match_files,
)
from app.domain.errors import CorrespondenceError

# SPEC.md §4.7, the allowed extensions and their MIME types
SPEC_MIME_TYPES = {
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pps": "application/vnd.ms-powerpoint",
    ".zip": "application/zip",
    ".pdf": "application/pdf",
    ".html": "text/html",
    ".txt": "text/plain",
    ".xml": "text/xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".png": "image/png",
    ".json": "application/json",
    ".csv": "text/csv",
    ".dcm": "application/dicom",
    ".dicom": "application/dicom",
}


def error_code(call, *args) -> int | None:
    try:
        call(*args)
    except CorrespondenceError as exc:
        return exc.code
    return None


def test_allowed_extensions_are_those_of_the_spec() -> None:
    assert MIME_TYPES == SPEC_MIME_TYPES


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rapport.PDF", ".pdf"),
        ("a.tar.gz", ".gz"),
        (".pdf", ".pdf"),
        ("noext", ""),
        ("dot.", "."),
    ],
)
def test_extension_is_lower_case_from_the_last_dot(name: str, expected: str) -> None:
    assert extension(name) == expected


@pytest.mark.parametrize(
    "name, code",
    [
        (None, 2010),
        ("", 2010),
        ("   ", 2010),
        ("a" * 252 + ".txt", 2011),
        ("virus.exe", 2013),
        ("noext", 2013),
        ("a<b.txt", 2012),
        ('a"b.pdf', 2012),
        ("a\x01.txt", 2012),
        ("a|b.txt", 2012),
        ("CON.txt", 2021),
        ("lpt9.pdf", 2021),
        ("Com1.tar.txt", 2021),
        ("CONSOLE.txt", None),
        ("COM10.txt", None),
        ("a" * 251 + ".txt", None),
        ("Rapport.PDF", None),
        ("data.dicom", None),
        (".pdf", None),  # an extension alone is a name with an allowed extension
        ("a\x00.txt", 2012),
        ("a\x1f.txt", 2012),
        ("a>b.txt", 2012),
        ("a:b.txt", 2012),
        ("a/b.txt", 2012),
        ("a\\b.txt", 2012),
        ("a?.txt", 2012),
        ("a*.txt", 2012),
        ("PRN.txt", 2021),
        ("aux.pdf", 2021),
        ("NUL.png", 2021),
        ("COM9.txt", 2021),
        ("LPT1.txt", 2021),
        ("COM0.txt", None),
        ("CON", 2013),
        ("a" * 252 + ".exe", 2011),
        ("<" * 5 + ".exe", 2013),
        ("CON<.txt", 2012),  # the contract's order
    ],
)
def test_file_name_rules_in_order(name, code):
    assert file_name_error(name) == code


def test_check_file_name_raises_the_first_rule_broken() -> None:
    assert error_code(check_file_name, "CON.txt") == 2021
    assert error_code(check_file_name, None) == 2010
    assert error_code(check_file_name, "ok.txt") is None


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("a.PDF", "application/pdf"),
        (".pdf", "application/pdf"),
        ("a.xlsx", SPEC_MIME_TYPES[".xlsx"]),
        ("a.exe", "binary_octet_stream"),
        ("noext", "binary_octet_stream"),
    ],
)
def test_data_type(name: str, mime: str) -> None:
    assert data_type(name) == mime


def test_expiration_minimum_depends_on_environment():
    check_expiration(None, production=True)
    check_expiration(1, production=False)
    check_expiration(14, production=True)
    for days, production, minimum in [(0, False, 1), (13, True, 14), (-5, False, 1)]:
        with pytest.raises(CorrespondenceError) as exc:
            check_expiration(days, production)
        assert (
            exc.value.code == 2017
            and exc.value.detail == f"Attachment expirationTime must be at least {minimum} days from now"
        )


def test_file_size_bounds():
    check_file_size(1, 2_000_000_000)
    check_file_size(2_000_000_000, 2_000_000_000)
    for size in (0, 2_000_000_001):
        with pytest.raises(CorrespondenceError) as exc:
            check_file_size(size, 2_000_000_000)
        assert exc.value.code == 2004
        assert exc.value.detail == "File must have content and has a max file size of 2GB"


def test_file_size_limit_named_in_gigabytes() -> None:
    with pytest.raises(CorrespondenceError) as exc:
        check_file_size(50_000_000_001, 50_000_000_000)
    assert exc.value.detail.endswith("max file size of 50GB")
    check_file_size(50_000_000_000, 50_000_000_000)


@pytest.mark.parametrize(
    "entries, parts, expected",
    [
        (["a.txt", "b.txt"], ["a.txt", "b.txt"], [0, 1]),
        (["b.txt", "a.txt"], ["a.txt", "b.txt"], [1, 0]),
        (["a.txt", "a.txt"], ["a.txt", "a.txt"], [0, 1]),  # duplicates in order
        (["c.txt", "a.txt", "b.txt"], ["a.txt", "b.txt", "c.txt"], [2, 0, 1]),
        (["a.txt", "c.txt", "b.txt"], ["a.txt", "b.txt", "c.txt"], [0, 2, 1]),
        ([], [], []),
    ],
)
def test_files_pair_with_entries(entries, parts, expected):
    assert match_files(entries, parts) == expected


@pytest.mark.parametrize(
    "entries, parts",
    [
        (["a.txt"], []),
        (["a.txt"], ["a.txt", "b.txt"]),
        (["a.txt"], ["A.txt"]),
        (["b.txt", "a.txt", "a.txt"], ["a.txt", "a.txt", "b.txt"]),  # ambiguous duplicates out of order
        (["x.txt", "b.txt"], ["a.txt", "b.txt"]),
        (["a.txt", "a.txt"], ["a.txt", "b.txt"]),  # both entries would take the one a.txt
        (["b.txt", "b.txt"], ["a.txt", "b.txt"]),  # entry 0 takes part 1, which entry 1 then may not reuse
        ([None], ["a.txt"]),
    ],
)
def test_files_that_do_not_pair_up_are_1005(entries, parts):
    with pytest.raises(CorrespondenceError) as exc:
        match_files(entries, parts)
    assert exc.value.code == 1005


@pytest.mark.parametrize("ext", [".pdf", ".png", ".jpg", ".jpeg", ".gif", ".bmp"])
def test_images_and_pdf_are_shown_inline(ext: str) -> None:
    assert disposition_type("file" + ext.upper()) == "inline"


@pytest.mark.parametrize("name", ["a.txt", "a.html", "a.zip", "a.docx", "noext"])
def test_everything_else_is_a_download(name: str) -> None:
    assert disposition_type(name) == "attachment"


def test_download_headers_from_the_extension():
    assert (download_content_type("a.PDF"), disposition_type("a.PDF")) == ("application/pdf", "inline")
    assert (download_content_type("a.txt"), disposition_type("a.txt")) == ("text/plain", "attachment")
    assert download_content_type("a.bin") == "application/octet-stream"


def test_expiring_within_six_hours() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert expiring_soon(None, now) is False
    assert expiring_soon(now + timedelta(hours=6) - timedelta(seconds=1), now) is True
    assert expiring_soon(now + timedelta(hours=6), now) is False
    assert expiring_soon(now - timedelta(days=1), now) is True
