"""Names inside and of the "download all attachments" zip (issue 26), as Altinn chooses them.

Pure: no I/O. Entry names come from the attachments' file names, at most 255 bytes of UTF-8 with
the extension kept, and unique without regard to case (`brev.pdf`, `brev (1).pdf`, `brev (2).pdf`),
since most unzip tools refuse or overwrite a second entry with the same name. The zip itself is
named from the correspondence's title.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_ENTRY_NAME_BYTES = 255
MAX_ZIP_STEM_CHARS = 100
DEFAULT_ZIP_STEM = "correspondence-attachments"
_RESERVED_NAME = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\.|$)", re.IGNORECASE)


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def split_extension(name: str) -> tuple[str, str]:
    """`("report", ".pdf")`; no extension when there is no dot, or only a leading or trailing one."""
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1:
        return name, ""
    return name[:dot], name[dot:]


def cut_to_bytes(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 form fits in `limit` bytes (never half a character)."""
    if limit <= 0:
        return ""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def fit_name(name: str, suffix: str = "") -> str:
    """`name` with `suffix` before its extension, cut so the whole is at most 255 bytes of UTF-8.

    The stem is shortened first; the extension is kept (unless it alone is too long)."""
    stem, extension = split_extension(name)
    if _utf8_len(stem + suffix + extension) <= MAX_ENTRY_NAME_BYTES:
        return stem + suffix + extension
    room = MAX_ENTRY_NAME_BYTES - _utf8_len(suffix + extension)
    if room < 0:  # an absurd extension: cut the name as a whole
        return cut_to_bytes(name, MAX_ENTRY_NAME_BYTES - _utf8_len(suffix)) + suffix
    return cut_to_bytes(stem, room) + suffix + extension


def entry_names(file_names: Iterable[str]) -> list[str]:
    """One unique zip entry name per file name, in the same order."""
    used: set[str] = set()
    names: list[str] = []
    for file_name in file_names:
        base = fit_name(file_name)
        candidate, counter = base, 0
        while candidate.casefold() in used:
            counter += 1
            candidate = fit_name(base, f" ({counter})")
        used.add(candidate.casefold())
        names.append(candidate)
    return names


def zip_file_name(title: str) -> str:
    """`min-melding.zip` from "Min melding!": lower case, spaces to `-`, only `[a-z0-9-]`, ≤ 100."""
    stem = title.strip().lower().replace(" ", "-")
    stem = re.sub(r"[^a-z0-9-]", "", stem)
    stem = re.sub(r"-+", "-", stem).strip("-")
    if len(stem) > MAX_ZIP_STEM_CHARS:
        stem = stem[:MAX_ZIP_STEM_CHARS].rstrip("-")
    if not stem:
        stem = DEFAULT_ZIP_STEM
    if _RESERVED_NAME.match(stem):
        stem = f"{DEFAULT_ZIP_STEM}-{stem}"
    return f"{stem}.zip"
