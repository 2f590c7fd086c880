"""Attachment file rules shared by Initialize and the attachment endpoints (SPEC.md §4.7). Pure."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from app.domain.errors import CorrespondenceError

MIME_TYPES = {
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


def extension(file_name: str) -> str:
    dot = file_name.rfind(".")
    return file_name[dot:].lower() if dot >= 0 else ""


def data_type(file_name: str) -> str:
    """MIME type reported as `dataType`; `binary_octet_stream` for unknown extensions."""
    return MIME_TYPES.get(extension(file_name), "binary_octet_stream")


MULTIPART_MAX_FILE_BYTES = 2_000_000_000  # per file of a multipart Initialize ("2GB")
STREAM_MAX_FILE_BYTES = 50_000_000_000  # `/attachment/{id}/upload` ("50GB")
EXPIRING_SOON = timedelta(hours=6)  # 1055
INLINE_EXTENSIONS = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".gif", ".bmp"})
_INVALID_CHARACTERS = frozenset('<>:"/\\|?*') | frozenset(chr(i) for i in range(32))
_RESERVED_NAME = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\.|$)", re.IGNORECASE)


def file_name_error(file_name: str | None) -> int | None:
    """The first file name rule broken, in the contract's order (2010, 2011, 2013, 2012, 2021)."""
    if file_name is None or not file_name.strip():
        return 2010
    if len(file_name) > 255:
        return 2011
    if extension(file_name) not in MIME_TYPES:
        return 2013
    if any(ch in _INVALID_CHARACTERS for ch in file_name):
        return 2012
    if _RESERVED_NAME.match(file_name):
        return 2021
    return None


def check_file_name(file_name: str | None) -> None:
    code = file_name_error(file_name)
    if code is not None:
        raise CorrespondenceError(code)


def check_expiration(expiration_in_days: int | None, production: bool) -> None:
    """At least 14 days in production, 1 elsewhere; None means never expires (2017)."""
    minimum = 14 if production else 1
    if expiration_in_days is not None and expiration_in_days < minimum:
        raise CorrespondenceError(2017, days=minimum)


def check_file_size(size: int, limit: int) -> None:
    """1 byte up to the limit (2004)."""
    if size < 1 or size > limit:
        raise CorrespondenceError(2004, limit=f"{limit // 1_000_000_000}GB")


def match_files(entry_names: list[str | None], part_names: list[str]) -> list[int]:
    """Which file part belongs to each attachment entry (SPEC.md §3.3); 1005 when they do not pair up.

    Entry i takes part i when the names are equal, else the one unused part carrying its name.
    """
    if len(entry_names) != len(part_names):
        raise CorrespondenceError(1005)
    used: set[int] = set()
    chosen: list[int] = []
    for i, name in enumerate(entry_names):
        if part_names[i] == name and i not in used:
            pick = i
        else:
            same = [j for j, part in enumerate(part_names) if part == name]
            if len(same) != 1 or same[0] in used:
                raise CorrespondenceError(1005)
            pick = same[0]
        used.add(pick)
        chosen.append(pick)
    return chosen


def download_content_type(file_name: str) -> str:
    return MIME_TYPES.get(extension(file_name), "application/octet-stream")


def disposition_type(file_name: str) -> str:
    """Browsers show these inline; everything else is offered as a download (SPEC.md §3.9)."""
    return "inline" if extension(file_name) in INLINE_EXTENSIONS else "attachment"


def expiring_soon(latest_expiration: datetime | None, now: datetime) -> bool:
    """An existing attachment whose last link expires within 6 hours cannot be reused (1055)."""
    return latest_expiration is not None and latest_expiration < now + EXPIRING_SOON
