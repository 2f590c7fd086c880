"""A recipients file read as a stream: rows, their validity, chunks, and the job's identity.

The CSV file is read three times (check, send, result), never held in memory: duplicates and bad
rows are kept in a small SQLite file in a scratch folder. One recipient a row (first column, or the
column named `recipient`); a header row is recognised when its recipient cell is a word (or with
`header=True`); further columns may fill `{{column}}` placeholders of the message.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from correspondence_client.recipients import parse_recipient

MAX_CHUNK = 500  # recipients per Initialize (the service's limit)
RECIPIENT_COLUMNS = (
    "recipient",
    "recipients",
    "mottaker",
    "urn",
    "identifier",
    "id",
    "orgnr",
    "organisasjonsnummer",
    "fnr",
    "fodselsnummer",
    "fødselsnummer",
    "ssn",
)
PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
SERVICE_PLACEHOLDERS = {"recipientname"}  # filled by the service itself
ENCODING = "utf-8-sig"


@dataclass(frozen=True)
class Row:
    line: int  # line number in the file (1-based; of the row's first line)
    raw: str  # the recipient cell as written
    urn: str | None  # normalized, or None when the row is bad
    error: str | None
    values: Mapping[str, str] = field(default_factory=dict)  # the row's cells by (header) column name


@dataclass(frozen=True)
class Chunk:
    index: int
    rows: list[Row]

    @property
    def recipients(self) -> list[str]:
        return [r.urn for r in self.rows if r.urn]

    def digest(self) -> str:
        return hashlib.sha256("\n".join(self.recipients).encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def message_placeholders(message: Any) -> set[str]:
    """`{{name}}` placeholders in the message's strings, except the service's own `{{recipientName}}`."""
    found: set[str] = set()
    if isinstance(message, str):
        found.update(m for m in PLACEHOLDER.findall(message) if m.lower() not in SERVICE_PLACEHOLDERS)
    elif isinstance(message, Mapping):
        for value in message.values():
            found |= message_placeholders(value)
    elif isinstance(message, (list, tuple)):
        for value in message:
            found |= message_placeholders(value)
    return found


def render(message: Any, values: Mapping[str, str]) -> Any:
    """The message with `{{column}}` replaced by the row's values (other placeholders left as they are)."""
    if isinstance(message, str):
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), message)
    if isinstance(message, Mapping):
        return {k: render(v, values) for k, v in message.items()}
    if isinstance(message, list):
        return [render(v, values) for v in message]
    return message


class RecipientFile:
    def __init__(
        self,
        path: str | Path,
        *,
        column: str | None = None,
        header: bool | None = None,
        placeholders: set[str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.placeholders = set(placeholders or ())
        with open(self.path, encoding=ENCODING, newline="") as handle:
            sample = handle.read(64 * 1024)
        try:
            self.dialect: Any = (
                csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
            )
        except csv.Error:
            self.dialect = csv.excel
        first = next(csv.reader(io.StringIO(sample), self.dialect), [])
        self.header = _looks_like_header(first) if header is None else header
        self.columns = [c.strip() for c in first] if self.header else []
        self.column_index = self._recipient_column(column)
        missing = sorted(p for p in self.placeholders if p not in self.columns)
        if missing:
            raise ValueError(
                f"the message uses {', '.join('{{' + m + '}}' for m in missing)} but "
                f"{self.path.name} has no such column (columns: {', '.join(self.columns) or 'none'})"
            )
        self.sha256 = file_sha256(self.path)

    def _recipient_column(self, column: str | None) -> int:
        if column is not None:
            if column.isdigit():
                return int(column) - 1
            lowered = [c.lower() for c in self.columns]
            if column.lower() not in lowered:
                raise ValueError(f"no column {column!r} in {self.path.name}")
            return lowered.index(column.lower())
        for i, name in enumerate(self.columns):
            if name.lower() in RECIPIENT_COLUMNS:
                return i
        return 0

    def _cells(self) -> Iterator[tuple[int, list[str]]]:
        with open(self.path, encoding=ENCODING, newline="") as handle:
            reader = csv.reader(handle, self.dialect)
            line = 1
            for cells in reader:
                start, line = line, reader.line_num + 1
                if start == 1 and self.header:
                    continue
                if not any(c.strip() for c in cells):
                    continue  # blank line
                yield start, cells

    def _parse(self, line: int, cells: list[str]) -> Row:
        raw = cells[self.column_index].strip() if self.column_index < len(cells) else ""
        values = (
            {name: cells[i].strip() for i, name in enumerate(self.columns) if i < len(cells)}
            if self.placeholders
            else {}
        )
        parsed = parse_recipient(raw)
        error = parsed.error
        if error is None:
            absent = sorted(p for p in self.placeholders if not values.get(p))
            if absent:
                error = f"no value for {', '.join('{{' + p + '}}' for p in absent)}"
        return Row(line, raw, parsed.urn if error is None else None, error, values)

    def check(self, scratch: Path) -> Checked:
        """First pass: every row's validity and duplicates, kept in `scratch`/rows.sqlite."""
        db = sqlite3.connect(scratch / "rows.sqlite", isolation_level=None)
        db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2000;"
            "CREATE TABLE seen (urn TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID;"
            "CREATE TABLE bad (line INTEGER PRIMARY KEY, raw TEXT, message TEXT);"
        )
        rows = valid = 0
        db.execute("BEGIN")
        for line, cells in self._cells():
            rows += 1
            row = self._parse(line, cells)
            error = row.error
            if (
                error is None
                and db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (row.urn, line)).rowcount == 0
            ):
                earlier = db.execute("SELECT line FROM seen WHERE urn = ?", (row.urn,)).fetchone()[0]
                error = f"duplicate of line {earlier} ({row.urn})"
            if error is None:
                valid += 1
            else:
                db.execute("INSERT INTO bad VALUES (?, ?, ?)", (line, row.raw, error))
        db.execute("COMMIT")
        return Checked(self, db, rows, valid)


@dataclass
class Checked:
    """The outcome of the first pass; iterates rows and chunks in file order."""

    file: RecipientFile
    db: sqlite3.Connection
    rows: int
    valid: int

    @property
    def invalid(self) -> int:
        return self.rows - self.valid

    def bad_rows(self, limit: int | None = None) -> Iterator[tuple[int, str, str]]:
        sql = "SELECT line, raw, message FROM bad ORDER BY line" + (f" LIMIT {int(limit)}" if limit else "")
        yield from self.db.execute(sql)

    def all_rows(self) -> Iterator[Row]:
        """Every row in file order, the bad ones (duplicates included) with their error."""
        bad = self.db.cursor().execute("SELECT line, message FROM bad ORDER BY line")
        next_bad = bad.fetchone()
        for line, cells in self.file._cells():
            row = self.file._parse(line, cells)
            if next_bad is not None and next_bad[0] == line:
                yield Row(line, row.raw, None, next_bad[1], row.values)
                next_bad = bad.fetchone()
            else:
                yield row

    def chunks(self, size: int) -> Iterator[Chunk]:
        batch: list[Row] = []
        index = 0
        for row in self.all_rows():
            if row.urn is None:
                continue
            batch.append(row)
            if len(batch) == size:
                yield Chunk(index, batch)
                index, batch = index + 1, []
        if batch:
            yield Chunk(index, batch)

    def close(self) -> None:
        self.db.close()


def _looks_like_header(cells: list[str]) -> bool:
    if not cells:
        return False
    first = cells[0].strip()
    if any(c.lower() in RECIPIENT_COLUMNS for c in (x.strip() for x in cells)):
        return True
    return (
        bool(first)
        and parse_recipient(first).urn is None
        and not any(ch.isdigit() for ch in first)
        and not first.lower().startswith("urn:")
    )


def job_identity(recipients_sha256: str, message: Any, chunk_size: int) -> str:
    """The job: recipients file content, message and chunk size. Chunk i of a job is always the same
    recipients, sent with the same sendersReference (and idempotentKey when alone)."""
    canonical = json.dumps(
        {"recipients": recipients_sha256, "message": message, "chunk": chunk_size},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]
