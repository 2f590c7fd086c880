"""Reading a multipart/form-data request as it arrives (DESIGN.md §7, docs/operating.md "Limits").

`FormReader` reads the text fields first, in memory and bounded (werkzeug's part count and one-part
limit, and a total for all of them), and stops at the first file part: the caller checks the token,
the resource and the byte cap the text declares before any file byte is read. File parts then come
one at a time as iterators of chunks, for the caller to stream straight to storage; nothing is
spooled to a temporary file. Built on werkzeug's own streaming parser (`MultipartDecoder`).

A text field after the first file part is refused (400): the text is checked before the files, as
Altinn's clients send it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from werkzeug.datastructures import Headers
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser
from werkzeug.sansio.multipart import (
    NEED_DATA,
    Data,
    Epilogue,
    Event,
    Field,
    File,
    MultipartDecoder,
)

from app.domain.limits import MAX_FORM_FIELD_BYTES, MAX_FORM_FIELDS_TOTAL_BYTES, MAX_FORM_PARTS
from app.usecases.upload_attachment import SourceRefused

FORM_TOO_LARGE = (
    f"The form is too large: at most {MAX_FORM_PARTS} parts, {MAX_FORM_FIELD_BYTES} bytes in "
    f"one text field and {MAX_FORM_FIELDS_TOTAL_BYTES} bytes of text fields in all."
)
READ_SIZE = 64 * 1024


# Refusals of the reader itself; raised inside a file part's chunks too, where they are passed on as
# they are (SourceRefused), not taken for a client that went away.
class FormTooLarge(RequestEntityTooLarge, SourceRefused):
    description = FORM_TOO_LARGE


class BodyTooLarge(RequestEntityTooLarge, SourceRefused):
    """More bytes than the form's text fields allow its files (or than the endpoint takes)."""


class MalformedForm(BadRequest, SourceRefused):
    pass


class _Truncated(MalformedForm):
    description = "The multipart body ended before its closing boundary."


class BodyEnded(Exception):
    """The body ended (or broke off) inside a file part, before the closing boundary."""


@dataclass
class FilePart:
    name: str
    filename: str
    headers: Headers
    chunks: Iterator[bytes]


class FormReader:
    """One multipart/form-data body: `fields()` first, then `files()`."""

    def __init__(self, stream: IO[bytes], boundary: bytes, read_size: int = READ_SIZE) -> None:
        self._stream = stream
        self._decoder = MultipartDecoder(
            boundary, max_form_memory_size=MAX_FORM_FIELD_BYTES, max_parts=MAX_FORM_PARTS
        )
        self._read_size = read_size
        self._pending: Event | None = None
        self._in_files = False
        self.bytes_read = 0
        # Bytes before the first file part (text fields, their part headers and boundaries).
        self.text_bytes = 0
        self.limit: int | None = None
        self.limit_detail = ""
        self.ended = False  # the closing boundary was read

    def fields(self) -> list[tuple[str, str]]:
        """The text fields, in order, up to the first file part or the end; 413 past a text limit."""
        fields: list[tuple[str, str]] = []
        while True:
            event = self._next()
            if isinstance(event, Field):
                fields.append((event.name or "", self._field_value(event)))
            elif isinstance(event, File):
                self._pending = event
                break
            elif isinstance(event, Epilogue):
                self.ended = True
                break
        self.text_bytes = self.bytes_read - len(self._decoder.buffer)
        self._in_files = True
        return fields

    @property
    def has_files(self) -> bool:
        return self._pending is not None

    def cap(self, limit: int, detail: str) -> None:
        """From now on at most `limit` bytes in all (413 with `detail` past it)."""
        self.limit, self.limit_detail = limit, detail
        if self.bytes_read > limit:
            raise BodyTooLarge(detail)

    def files(self) -> Iterator[FilePart]:
        """The file parts, one at a time: read each part's chunks before asking for the next."""
        while not self.ended:
            event = self._pending or self._next_in_file()
            self._pending = None
            if isinstance(event, File):
                part = FilePart(event.name or "", event.filename, event.headers, self._file_data())
                yield part
                for _ in part.chunks:  # what the caller left unread
                    pass
            elif isinstance(event, Field):
                raise MalformedForm(
                    f"The form field {event.name!r} comes after a file part: send every text field "
                    "before the files."
                )
            elif isinstance(event, Epilogue):
                self.ended = True

    def _file_data(self) -> Iterator[bytes]:
        while True:
            event = self._next_in_file()
            if not isinstance(event, Data):  # not reached: a part's data ends with more_data False
                raise MalformedForm("The multipart body is malformed.")
            if event.data:
                yield event.data
            if not event.more_data:
                return

    def _field_value(self, field: Field) -> str:
        data = bytearray()
        while True:
            event = self._next()
            if not isinstance(event, Data):
                raise MalformedForm("The multipart body is malformed.")
            data += event.data
            if len(data) > MAX_FORM_FIELD_BYTES:
                raise FormTooLarge()
            if not event.more_data:
                charset = MultiPartParser().get_part_charset(field.headers)
                return bytes(data).decode(charset, "replace")

    def _next_in_file(self) -> Event:
        try:
            return self._next()
        except _Truncated as exc:  # the body ended inside a file: the client went away
            raise BodyEnded(str(exc.description)) from exc

    def _next(self) -> Event:
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError as exc:
                if self._decoder.complete:
                    raise _Truncated() from None
                raise MalformedForm(f"The multipart body is malformed: {exc}.") from None
            except RequestEntityTooLarge:  # werkzeug's part count
                raise FormTooLarge() from None
            if event is not NEED_DATA:
                return event
            chunk = self._stream.read(self._read_size)
            self.bytes_read += len(chunk)
            if not self._in_files and self.bytes_read - len(chunk) > MAX_FORM_FIELDS_TOTAL_BYTES:
                raise FormTooLarge()  # the text fields (everything before the first file) in all
            if self.limit is not None and self.bytes_read > self.limit:
                raise BodyTooLarge(self.limit_detail)
            try:
                self._decoder.receive_data(chunk or None)
            except RequestEntityTooLarge:  # one text part's headers past the one-part limit
                raise FormTooLarge() from None
