"""The journal of a bulk send: one JSON object a line, appended and flushed to disk before and after
every request, so that a later run knows what an interrupted one did.

    {"t": "job", "job": ..., "recipients_sha256": ..., "chunk_size": 500, "rows": ..., "version": 1}
    {"t": "attempt", "chunk": 3, "digest": ..., "ref": ..., "at": 1767225600.0}   written BEFORE sending
    {"t": "done", "chunk": 3, "results": [[urn, id, status], ...], "recovered": false}
    {"t": "failed", "chunk": 3, "error": "...", "status": 404, "code": 1029}       nothing was stored
    {"t": "unknown", "chunk": 3, "error": "..."}         may have been stored: checked before resending
    {"t": "orders", "chunk": 3, "orders": [[[is_reminder, status], ...] | "Reserved", ...]}   --wait

A chunk's state is its last record. An `attempt` or `unknown` as the last record means the outcome is
unknown. Only the byte offset of each chunk's last `done`/`failed`/`orders` record is kept in memory.
A line cut short by a crash is dropped when the journal is opened again.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = 1
DONE, FAILED, UNKNOWN, ATTEMPTED, NEW = "done", "failed", "unknown", "attempt", "new"


class JournalMismatch(Exception):
    """The journal belongs to another job (another recipients file, message or chunk size)."""


@dataclass
class ChunkState:
    state: str = NEW
    digest: str | None = None
    attempted_at: float | None = None
    result_offset: int | None = None  # of the last done/failed record
    orders_offset: int | None = None
    error: str | None = None


class Journal:
    def __init__(self, path: Path, job: dict[str, Any]) -> None:
        self.path = Path(path)
        self.job = job
        self.chunks: dict[int, ChunkState] = {}
        self._lock = threading.Lock()
        existed = self.path.exists() and self.path.stat().st_size > 0
        if existed:
            self._load()
        self._handle = open(self.path, "ab")  # noqa: SIM115 - appended to until close()
        if not existed:
            self._append({"t": "job", "version": VERSION, **job})

    def _load(self) -> None:
        with open(self.path, "r+b") as handle:
            offset, good_end, first = 0, 0, True
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break  # cut short by a crash
                try:
                    record = json.loads(raw)
                except ValueError:
                    break
                if first:
                    self._check_job(record)
                    first = False
                else:
                    self._apply(record, offset)
                offset += len(raw)
                good_end = offset
            handle.truncate(good_end)

    def _check_job(self, record: dict[str, Any]) -> None:
        if record.get("t") != "job" or record.get("job") != self.job["job"]:
            differences = [
                k
                for k in ("recipients_sha256", "message_sha256", "chunk_size")
                if record.get(k) != self.job.get(k)
            ]
            raise JournalMismatch(
                f"{self.path} belongs to another job ({', '.join(differences) or 'job id'} differ): "
                "choose another --result for a new job, or run the old job's files again"
            )

    def _apply(self, record: dict[str, Any], offset: int) -> None:
        kind, index = record.get("t"), record.get("chunk")
        if not isinstance(index, int):
            return
        state = self.chunks.setdefault(index, ChunkState())
        if kind == "attempt":
            state.state, state.digest, state.attempted_at = ATTEMPTED, record.get("digest"), record.get("at")
            state.error = None
        elif kind in (DONE, FAILED):
            state.state, state.result_offset, state.error = kind, offset, record.get("error")
        elif kind == UNKNOWN:
            state.state, state.error = UNKNOWN, record.get("error")
        elif kind == "orders":
            state.orders_offset = offset

    def _append(self, record: dict[str, Any]) -> int:
        data = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        with self._lock:
            offset = self._handle.seek(0, os.SEEK_END)
            self._handle.write(data)
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._apply(record, offset)
        return offset

    def state(self, index: int) -> ChunkState:
        with self._lock:
            return self.chunks.get(index, ChunkState())

    def attempt(self, index: int, digest: str, reference: str) -> None:
        self._append({"t": "attempt", "chunk": index, "digest": digest, "ref": reference, "at": time.time()})

    def done(self, index: int, results: list[list[Any]], recovered: bool) -> None:
        self._append({"t": DONE, "chunk": index, "results": results, "recovered": recovered})

    def failed(self, index: int, error: str, status: int | None = None, code: int | None = None) -> None:
        self._append({"t": FAILED, "chunk": index, "error": error, "status": status, "code": code})

    def unknown(self, index: int, error: str) -> None:
        self._append({"t": UNKNOWN, "chunk": index, "error": error})

    def orders(self, index: int, orders: list[Any]) -> None:
        self._append({"t": "orders", "chunk": index, "orders": orders})

    def read_at(self, offset: int | None) -> dict[str, Any] | None:
        if offset is None:
            return None
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            return json.loads(handle.readline())

    def counts(self) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for state in self.chunks.values():
                out[state.state] = out.get(state.state, 0) + 1
            return out

    def close(self) -> None:
        self._handle.close()
