"""Multipart bodies made on the fly (never held whole), and a look at the files a process has open."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.attachments.helpers import entry, form_fields

BOUNDARY = "----correspondence-test-boundary-7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
BLOCK = 64 * 1024
MiB = 1024 * 1024
GiB = 1024 * MiB


def text_part(name: str, value: str) -> bytes:
    return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()


def file_head(file_name: str, name: str = "attachments") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


CLOSE = f"--{BOUNDARY}--\r\n".encode()


def text_parts(fields: list[tuple[str, str]]) -> bytes:
    return b"".join(text_part(name, value) for name, value in fields)


def pattern(position: int, size: int) -> bytes:
    """`size` bytes of a deterministic pattern at `position` (no CR or LF: never a boundary)."""
    block = hashlib.sha256(str(position // BLOCK).encode()).hexdigest().encode() * (BLOCK // 64)
    offset = position % BLOCK
    return block[offset : offset + min(size, BLOCK - offset)]


class Body:
    """A request body read like `wsgi.input`: pieces of bytes and of generated file content
    (("file", size)), produced as they are read. `fail_after`: reading past it raises OSError (a
    client that goes away; it also stops a server that would read everything). `on_read` runs at
    each read (the tests look at the process's open files there)."""

    def __init__(
        self,
        *pieces: bytes | tuple[str, int],
        fail_after: int | None = None,
        error: BaseException | None = None,
        on_read=None,
    ) -> None:
        self.pieces = [(p, len(p)) if isinstance(p, bytes) else (None, p[1]) for p in pieces]
        self.total = sum(size for _, size in self.pieces)
        self.position = 0
        self.fail_after = fail_after
        self.error = error
        self.on_read = on_read

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:  # the test client measures by seeking
        self.position = self.total + offset if whence == 2 else offset
        return self.position

    def read(self, size: int = -1) -> bytes:
        if self.on_read is not None:
            self.on_read()
        if self.fail_after is not None and self.position >= self.fail_after:
            raise self.error or OSError("the test client stopped sending")
        size = BLOCK if size is None or size < 0 else min(size, BLOCK)
        start = 0
        for data, length in self.pieces:
            if self.position < start + length:
                offset = self.position - start
                take = min(size, length - offset)
                chunk = data[offset : offset + take] if data is not None else pattern(offset, take)
                self.position += len(chunk)
                return chunk
            start += length
        return b""


def upload_body(
    file_size: int,
    *,
    fields: list[tuple[str, str]] | None = None,
    file_name: str = "stor.txt",
    **kwargs,
) -> Body:
    """A multipart Initialize with one attachment entry and one file of `file_size` bytes."""
    fields = fields if fields is not None else form_fields(attachments=[entry(file_name)])
    return Body(text_parts(fields), file_head(file_name), ("file", file_size), b"\r\n" + CLOSE, **kwargs)


def open_files(pid: int | str = "self", under: list[Path] | None = None) -> set[str]:
    """What the process has open that is a file under `under` or an unlinked (deleted) file."""
    folder = Path(f"/proc/{pid}/fd")
    found = set()
    for fd in os.listdir(folder):
        try:
            target = os.readlink(folder / fd)
        except OSError:
            continue
        if target.endswith(" (deleted)") or any(target.startswith(str(d)) for d in under or []):
            found.add(target)
    return found
