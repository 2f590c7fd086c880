"""Pure attachment rules (SPEC.md §4.7) and the local folder storage."""
from __future__ import annotations

import pytest

from app.domain.attachment_rules import (
    check_expiration,
    check_file_size,
    disposition_type,
    download_content_type,
    file_name_error,
    match_files,
)
from app.domain.errors import CorrespondenceError
from app.storage import LocalFolderStorage


@pytest.mark.parametrize("name, code", [
    (None, 2010), ("", 2010), ("   ", 2010), ("a" * 252 + ".txt", 2011), ("virus.exe", 2013), ("noext", 2013),
    ("a<b.txt", 2012), ('a"b.pdf', 2012), ("a\x01.txt", 2012), ("a|b.txt", 2012), ("CON.txt", 2021),
    ("lpt9.pdf", 2021), ("Com1.tar.txt", 2021), ("CONSOLE.txt", None), ("COM10.txt", None), ("a" * 251 + ".txt", None),
    ("Rapport.PDF", None), ("data.dicom", None),
])
def test_file_name_rules_in_order(name, code):
    assert file_name_error(name) == code


def test_expiration_minimum_depends_on_environment():
    check_expiration(None, production=True)
    check_expiration(1, production=False)
    check_expiration(14, production=True)
    for days, production, minimum in [(0, False, 1), (13, True, 14), (-5, False, 1)]:
        with pytest.raises(CorrespondenceError) as exc:
            check_expiration(days, production)
        assert exc.value.code == 2017 and f"at least {minimum} days" in exc.value.detail


def test_file_size_bounds():
    check_file_size(1, 2_000_000_000)
    check_file_size(2_000_000_000, 2_000_000_000)
    for size in (0, 2_000_000_001):
        with pytest.raises(CorrespondenceError) as exc:
            check_file_size(size, 2_000_000_000)
        assert exc.value.code == 2004 and exc.value.detail.endswith("max file size of 2GB")


@pytest.mark.parametrize("entries, parts, expected", [
    (["a.txt", "b.txt"], ["a.txt", "b.txt"], [0, 1]),
    (["b.txt", "a.txt"], ["a.txt", "b.txt"], [1, 0]),
    (["a.txt", "a.txt"], ["a.txt", "a.txt"], [0, 1]),        # duplicates in order
    ([], [], []),
])
def test_files_pair_with_entries(entries, parts, expected):
    assert match_files(entries, parts) == expected


@pytest.mark.parametrize("entries, parts", [
    (["a.txt"], []), (["a.txt"], ["a.txt", "b.txt"]), (["a.txt"], ["A.txt"]),
    (["b.txt", "a.txt", "a.txt"], ["a.txt", "a.txt", "b.txt"]),   # ambiguous duplicates out of order
    (["x.txt", "b.txt"], ["a.txt", "b.txt"]),
])
def test_files_that_do_not_pair_up_are_1005(entries, parts):
    with pytest.raises(CorrespondenceError) as exc:
        match_files(entries, parts)
    assert exc.value.code == 1005


def test_download_headers_from_the_extension():
    assert (download_content_type("a.PDF"), disposition_type("a.PDF")) == ("application/pdf", "inline")
    assert (download_content_type("a.txt"), disposition_type("a.txt")) == ("text/plain", "attachment")
    assert download_content_type("a.bin") == "application/octet-stream"


def test_local_storage_renames_only_complete_files(tmp_path):
    storage = LocalFolderStorage(tmp_path / "files")
    location = storage.save("abc", iter([b"he", b"llo"]))
    assert location.startswith("file://") and (tmp_path / "files" / "abc").read_bytes() == b"hello"
    with storage.open("abc") as handle:
        assert handle.read() == b"hello"

    def broken():
        yield b"partial"
        raise OSError("connection reset")

    with pytest.raises(OSError):
        storage.save("def", broken())
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == ["abc"]
    storage.delete("abc")
    storage.delete("abc")  # idempotent
    assert list((tmp_path / "files").iterdir()) == []
    with pytest.raises(FileNotFoundError):
        storage.open("abc")
    with pytest.raises(ValueError):
        storage.save("../escape", iter([b"x"]))
