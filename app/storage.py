"""Where attachment bytes live, behind a small interface (SPEC.md §1.4, §3.11).

`LocalFolderStorage` (the default) keeps one file per attachment under `STORAGE_DIR`. A file is
written under a temporary name in the same folder and renamed only once every byte is on disk, so
a reader never sees a partial file and an interrupted upload leaves nothing behind. Bytes are
streamed chunk by chunk, never held whole in memory. An S3-compatible backend can implement the
same three methods (multipart upload + complete for `save`, `get_object` body for `open`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, BinaryIO, Protocol

from app.config import Settings

CHUNK_SIZE = 256 * 1024
TEMP_SUFFIX = ".part"


class AttachmentStorage(Protocol):
    def save(self, key: str, chunks: Iterable[bytes]) -> str:
        """Store every chunk under `key`, all or nothing; returns the data location URL.

        If `chunks` (or the write) raises, nothing is left behind and the exception propagates.
        """

    def open(self, key: str) -> BinaryIO:
        """The stored bytes as a readable binary file; FileNotFoundError when there are none."""

    def delete(self, key: str) -> None:
        """Remove the stored bytes; no error when there are none."""


def iter_chunks(source: IO[bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Read a binary stream to its end in chunks (bounded memory)."""
    while True:
        chunk = source.read(chunk_size)
        if not chunk:
            return
        yield chunk


class LocalFolderStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    def save(self, key: str, chunks: Iterable[bytes]) -> str:
        final = self._path(key)
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.root / f".{key}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
        try:
            with open(temp, "xb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, final)  # atomic on one filesystem: the file appears complete or not at all
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return final.resolve().as_uri()

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def storage_from_settings(settings: Settings) -> AttachmentStorage:
    return LocalFolderStorage(settings.attachments_dir)
