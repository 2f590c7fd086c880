"""The local folder storage. (The pure attachment rules are tested in tests/unit/test_attachment_rules.py.)"""

from __future__ import annotations

import pytest

from app.storage import LocalFolderStorage


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
