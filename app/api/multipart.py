"""Reading a multipart/form-data request with bounded text parts (DESIGN.md §7, README "Limits").

werkzeug already bounds the number of parts (`max_form_parts`) and the size of one text part
(`max_form_memory_size`), both answered 413. Text parts are held in memory, so their total is
bounded too: the parser counts what it reads from the body and what it writes into file parts, and
the difference (text parts with their part headers and boundaries) may not pass the budget.
"""

from __future__ import annotations

from typing import IO, Any, cast

from flask import request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser

from app.domain.limits import MAX_FORM_FIELD_BYTES, MAX_FORM_FIELDS_TOTAL_BYTES, MAX_FORM_PARTS

FORM_TOO_LARGE = (
    f"The form is too large: at most {MAX_FORM_PARTS} parts, {MAX_FORM_FIELD_BYTES} bytes in "
    f"one text field and {MAX_FORM_FIELDS_TOTAL_BYTES} bytes of text fields in all."
)


class FormTooLarge(RequestEntityTooLarge):
    description = FORM_TOO_LARGE


def read_form(max_content_length: int) -> tuple[MultiDict[str, str], MultiDict[str, Any]]:
    """The text fields and the file parts of the request, or 413 (FormTooLarge) past a form limit."""
    request.max_content_length = max_content_length
    request.max_form_parts = MAX_FORM_PARTS
    request.max_form_memory_size = MAX_FORM_FIELD_BYTES
    request.form_data_parser_class = _BudgetedFormDataParser
    if request.content_length is not None and request.content_length > max_content_length:
        raise RequestEntityTooLarge()
    try:
        return request.form, request.files
    except FormTooLarge:
        raise
    except RequestEntityTooLarge as exc:  # werkzeug's part count or one-part limit
        raise FormTooLarge() from exc


class _BudgetedFormDataParser(FormDataParser):
    def _parse_multipart(
        self, stream: IO[bytes], mimetype: str, content_length: int | None, options: dict[str, str]
    ) -> Any:
        parser = _BudgetedMultiPartParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
        )
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class _BudgetedMultiPartParser(MultiPartParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file_bytes = 0
        self.read_bytes = 0

    def parse(self, stream: IO[bytes], boundary: bytes, content_length: int | None) -> Any:
        # The parser only calls read(), which is what _CountedBody has of a file.
        return super().parse(cast(IO[bytes], _CountedBody(stream, self)), boundary, content_length)

    def start_file_streaming(self, event: Any, total_content_length: int | None) -> IO[bytes]:
        container = super().start_file_streaming(event, total_content_length)
        return _CountedFile(container, self)  # type: ignore[return-value]

    def check_budget(self) -> None:
        # What was read but not yet written to a file may still sit in the decoder: one buffer's worth.
        if self.read_bytes - self.file_bytes > MAX_FORM_FIELDS_TOTAL_BYTES + self.buffer_size:
            raise FormTooLarge()


class _CountedBody:
    def __init__(self, stream: IO[bytes], parser: _BudgetedMultiPartParser) -> None:
        self._stream = stream
        self._parser = parser

    def read(self, size: int = -1) -> bytes:
        self._parser.check_budget()
        data = self._stream.read(size)
        self._parser.read_bytes += len(data)
        return data


class _CountedFile:
    """A file part's container (spooled file) that counts what the parser writes into it; everything
    else (seek, read, tell, ...) is the container's own."""

    def __init__(self, container: IO[bytes], parser: _BudgetedMultiPartParser) -> None:
        self._container = container
        self._parser = parser

    def write(self, data: bytes) -> int:
        self._parser.file_bytes += len(data)
        return self._container.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._container, name)
