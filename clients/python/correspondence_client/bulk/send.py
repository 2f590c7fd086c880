"""Bulk send: one message to every recipient of a CSV file, in Initialize requests of at most 500,
resumable without sending anything twice.

Each chunk (the i-th group of `chunk_size` valid rows) has a sendersReference of its own,
`<message's sendersReference>:<job>:<i>`, where the job is a hash of the recipients file's bytes, the
message and the chunk size; a chunk of one recipient also has an idempotentKey derived from job and i.
Before a chunk of several recipients is sent, its reference is searched: a chunk found there is not
sent again (and a chunk the journal shows as attempted is searched only `settle_seconds` after that
attempt began, so that a request still being processed has committed). See the README's "Idempotency"
for exactly what holds.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from correspondence_client.bulk.journal import ATTEMPTED, DONE, FAILED, UNKNOWN, Journal, JournalMismatch
from correspondence_client.bulk.plan import (
    MAX_CHUNK,
    Checked,
    Chunk,
    RecipientFile,
    job_identity,
    message_placeholders,
    render,
)
from correspondence_client.bulk.results import write_results
from correspondence_client.client import CorrespondenceClient, derive_key
from correspondence_client.errors import ApiError, CorrespondenceClientError, OutcomeUnknown, TransportError
from correspondence_client.models import InitializeRequest, _get
from correspondence_client.progress import Progress

MAX_REFERENCE = 4096
LISTED_BAD_ROWS = 50
EXIT_OK, EXIT_INCOMPLETE, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass
class SendOptions:
    recipients: Path
    message: Mapping[str, Any]  # the `correspondence` object of an Initialize (JSON names)
    result: Path | None = None  # default: <recipients>.result.csv; the journal is <result>.journal
    chunk_size: int = MAX_CHUNK
    concurrency: int = 4
    skip_invalid: bool = False
    dry_run: bool = False
    wait: bool = False
    wait_timeout: float = 900.0
    poll_interval: float = 2.0
    progress: str = "auto"
    progress_interval: float = 2.0
    settle_seconds: float = 3.0
    max_failed_chunks: int = 3
    column: str | None = None
    header: bool | None = None
    existing_attachments: list[str] = field(default_factory=list)
    stream: TextIO = field(default_factory=lambda: sys.stdout)  # messages, summary
    progress_stream: TextIO = field(default_factory=lambda: sys.stderr)  # the progress display

    @property
    def result_path(self) -> Path:
        return self.result or self.recipients.with_name(self.recipients.stem + ".result.csv")


@dataclass
class SendReport:
    exit_code: int
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    chunks: int = 0
    sent: int = 0  # rows sent by this run
    recovered: int = 0  # rows of chunks found already sent (by an interrupted attempt or run)
    already: int = 0  # rows the journal shows sent by an earlier run
    failed: int = 0
    unknown: int = 0
    job: str = ""
    result_path: Path | None = None
    journal_path: Path | None = None
    orders: dict[str, Any] | None = None


def send(client: CorrespondenceClient, options: SendOptions) -> SendReport:
    out = options.stream
    message = dict(options.message)
    placeholders = message_placeholders(message)
    size = 1 if placeholders else max(1, min(options.chunk_size, MAX_CHUNK))
    if placeholders and options.chunk_size != 1:
        print(
            f"the message has placeholders ({', '.join(sorted(placeholders))}): one request per recipient",
            file=out,
        )
    with tempfile.TemporaryDirectory(prefix="correspondence-send-") as scratch:
        try:
            file = RecipientFile(
                options.recipients, column=options.column, header=options.header, placeholders=placeholders
            )
            checked = file.check(Path(scratch))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ValueError(f"{options.recipients}: not a UTF-8 CSV file ({exc})") from exc
        try:
            return _send_checked(client, options, message, size, file, checked)
        finally:
            checked.close()


def _send_checked(
    client: CorrespondenceClient,
    options: SendOptions,
    message: dict[str, Any],
    size: int,
    file: RecipientFile,
    checked: Checked,
) -> SendReport:
    out = options.stream
    report = SendReport(
        EXIT_OK,
        rows=checked.rows,
        valid=checked.valid,
        invalid=checked.invalid,
        chunks=math.ceil(checked.valid / size),
    )
    if checked.invalid:
        verb = "skipped (--skip-invalid)" if options.skip_invalid else "found; nothing was sent"
        print(f"{checked.invalid:,} invalid row(s) {verb}:", file=out)
        for line, raw, error in checked.bad_rows(LISTED_BAD_ROWS):
            print(f"  line {line}: {error}" + (f" [{raw}]" if raw and raw not in error else ""), file=out)
        if checked.invalid > LISTED_BAD_ROWS:
            print(f"  … and {checked.invalid - LISTED_BAD_ROWS:,} more", file=out)
        if not options.skip_invalid:
            print("fix them, or pass --skip-invalid to send to the valid rows only", file=out)
            report.exit_code = EXIT_INVALID
            return report
    sent_as = {"correspondence": message, "existingAttachments": list(options.existing_attachments)}
    message_sha = hashlib.sha256(json.dumps(sent_as, sort_keys=True, default=str).encode()).hexdigest()
    report.job = job_identity(file.sha256, sent_as, size)
    if options.dry_run:
        for chunk in checked.chunks(size):  # builds every request, sends none
            _request(message, chunk, report.job, options.existing_attachments)
        print(
            f"dry run: {checked.rows:,} rows, {checked.valid:,} valid, {checked.invalid:,} invalid; "
            f"{report.chunks:,} request(s) of at most {size}; job {report.job}; nothing sent",
            file=out,
        )
        return report
    if checked.valid == 0:
        print("no valid recipients: nothing to send", file=out)
        report.exit_code = EXIT_INVALID
        return report
    report.result_path = options.result_path
    report.journal_path = Path(str(options.result_path) + ".journal")
    journal = Journal(
        report.journal_path,
        {
            "job": report.job,
            "recipients_sha256": file.sha256,
            "message_sha256": message_sha,
            "chunk_size": size,
            "rows": checked.valid,
        },
    )
    try:
        _Sender(client, options, message, size, checked, journal, report).run()
        write_results(checked, journal, report.result_path, size)
        _summary(report, out)
        if options.wait and report.exit_code != EXIT_INTERRUPTED:
            from correspondence_client.bulk.follow import follow_orders

            try:
                report.orders = follow_orders(
                    client, journal, options, size, has_notification=bool(_get(message, "notification"))
                )
            except KeyboardInterrupt:
                print("interrupted: run again with --wait to go on following the orders", file=out)
                report.exit_code = EXIT_INTERRUPTED
            write_results(checked, journal, report.result_path, size)
            if report.orders and report.orders.get("not_final"):
                report.exit_code = max(report.exit_code, EXIT_INCOMPLETE)
    finally:
        journal.close()
    print(f"result: {report.result_path}  journal: {report.journal_path}  job: {report.job}", file=out)
    return report


def _reference(message: Mapping[str, Any], job: str, index: int) -> str:
    base = str(_get(message, "senders_reference") or "bulk")
    suffix = f":{job[:16]}:{index}"
    return base[: MAX_REFERENCE - len(suffix)] + suffix


def _request(message: Mapping[str, Any], chunk: Chunk, job: str, existing: list[str]) -> InitializeRequest:
    body = render(message, chunk.rows[0].values) if chunk.rows[0].values else dict(message)
    body = {k: v for k, v in body.items() if str(k).lower() != "sendersreference"}
    body["sendersReference"] = _reference(message, job, chunk.index)
    key = derive_key(f"{job}:{chunk.index}") if len(chunk.rows) == 1 else None
    return InitializeRequest(
        correspondence=body,
        recipients=chunk.recipients,
        existing_attachments=list(existing),
        idempotent_key=key,
    )


@dataclass
class _Outcome:
    kind: str  # done, failed, unknown
    rows: int
    recovered: bool = False


class _Sender:
    def __init__(
        self,
        client: CorrespondenceClient,
        options: SendOptions,
        message: dict[str, Any],
        size: int,
        checked: Checked,
        journal: Journal,
        report: SendReport,
    ) -> None:
        self.client, self.options, self.message, self.size = client, options, message, size
        self.checked, self.journal, self.report = checked, journal, report
        self.stop = threading.Event()
        self.failed_chunks = 0  # counted by the workers, so that the next chunk already sees it
        self._lock = threading.Lock()
        self.progress = Progress(
            "sending",
            checked.valid,
            stream=options.progress_stream,
            mode=options.progress,
            interval=options.progress_interval,
            extra=self._extra,
        )

    def _extra(self) -> str:
        return f"retries {self.client.transport.retries:,}" if self.client.transport.retries else ""

    def run(self) -> None:
        inflight: set[Future] = set()
        pool = ThreadPoolExecutor(max(1, self.options.concurrency), thread_name_prefix="send")
        with self.progress:
            try:
                for chunk in self.checked.chunks(self.size):
                    state = self.journal.state(chunk.index)
                    if state.digest is not None and state.digest != chunk.digest():
                        raise JournalMismatch(
                            f"chunk {chunk.index} has other recipients than the journal says"
                        )
                    if state.state == DONE:
                        self.report.already += len(chunk.rows)
                        self.progress.advance(len(chunk.rows), skipped=True)
                        continue
                    if self._halted():
                        break
                    while len(inflight) >= 2 * max(1, self.options.concurrency):
                        finished, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                        self._collect(finished)
                    if self._halted():
                        break
                    inflight.add(pool.submit(self._chunk, chunk, state.state, state.attempted_at))
                self._collect(wait(inflight).done)
            except KeyboardInterrupt:
                self.stop.set()
                self.progress.note(
                    "interrupted: finishing the requests under way (Ctrl-C again to quit at once)"
                )
                pool.shutdown(wait=True, cancel_futures=True)
                self._collect({f for f in inflight if f.done() and not f.cancelled()})
                self.report.exit_code = EXIT_INTERRUPTED
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        if self.failed_chunks >= self.options.max_failed_chunks and self.report.exit_code == EXIT_OK:
            print(
                f"stopped after {self.failed_chunks} failed requests; run again to retry them and go on",
                file=self.options.stream,
            )
        if (
            self.report.failed
            or self.report.unknown
            or self.report.sent + self.report.recovered + self.report.already < self.report.valid
        ):
            self.report.exit_code = max(self.report.exit_code, EXIT_INCOMPLETE)

    def _collect(self, finished: set[Future]) -> None:
        for future in finished:
            outcome: _Outcome = future.result()
            if outcome.rows == 0:
                continue  # not started: stopped first
            if outcome.kind == DONE:
                if outcome.recovered:
                    self.report.recovered += outcome.rows
                else:
                    self.report.sent += outcome.rows
                self.progress.advance(outcome.rows)
            elif outcome.kind == FAILED:
                self.report.failed += outcome.rows
                self.progress.advance(outcome.rows, failed=outcome.rows)
            else:
                self.report.unknown += outcome.rows
                self.progress.advance(outcome.rows, failed=outcome.rows)

    def _halted(self) -> bool:
        return self.stop.is_set() or self.failed_chunks >= self.options.max_failed_chunks

    def _chunk(self, chunk: Chunk, state: str, attempted_at: float | None) -> _Outcome:
        if self._halted():
            return _Outcome("skipped", 0)
        outcome = self._send_chunk(chunk, state, attempted_at)
        if outcome.kind == FAILED:
            with self._lock:
                self.failed_chunks += 1
        return outcome

    def _send_chunk(self, chunk: Chunk, state: str, attempted_at: float | None) -> _Outcome:
        request = _request(self.message, chunk, self.report.job, self.options.existing_attachments)
        rows, index = len(chunk.rows), chunk.index
        if len(chunk.rows) > 1:  # a single recipient is guarded by its idempotentKey
            if state in (ATTEMPTED, UNKNOWN) and attempted_at is not None:
                time.sleep(max(0.0, attempted_at + self.options.settle_seconds - time.time()))
            try:
                found = self.client.find_initialized(request)
            except (ApiError, TransportError, CorrespondenceClientError) as exc:
                if state in (ATTEMPTED, UNKNOWN):
                    self.journal.unknown(index, f"check failed: {exc}")
                    return _Outcome(UNKNOWN, rows)
                self.journal.failed(index, f"check before sending failed: {exc}")
                return _Outcome(FAILED, rows)
            if found is not None:
                self.journal.done(index, _results(found), recovered=True)
                return _Outcome(DONE, rows, recovered=True)
        self.journal.attempt(index, chunk.digest(), request.senders_reference)
        try:
            # Several recipients: the chunk's own reference as the Idempotency-Key header too, the same in
            # every run, so a resend of a chunk that landed unseen is answered, not stored again.
            key = request.senders_reference if len(chunk.rows) > 1 else None
            answer = self.client.initialize(request, unique_reference=True, idempotency_key=key)
        except OutcomeUnknown as exc:
            self.journal.unknown(index, str(exc))
            return _Outcome(UNKNOWN, rows)
        except ApiError as exc:  # nothing was stored
            self.journal.failed(index, exc.describe(), exc.status, exc.error_code)
            return _Outcome(FAILED, rows)
        except TransportError as exc:
            if exc.sent:
                self.journal.unknown(index, str(exc))
                return _Outcome(UNKNOWN, rows)
            self.journal.failed(index, str(exc))
            return _Outcome(FAILED, rows)
        except CorrespondenceClientError as exc:  # e.g. a reference that is not unique: never resent blindly
            self.journal.unknown(index, str(exc))
            return _Outcome(UNKNOWN, rows)
        self.journal.done(index, _results(answer), recovered=answer.recovered)
        return _Outcome(DONE, rows, recovered=answer.recovered)


def _results(answer: Any) -> list[list[Any]]:
    return [[c.recipient, str(c.correspondence_id), c.status] for c in answer.correspondences]


def _summary(report: SendReport, out: TextIO) -> None:
    parts = [f"sent {report.sent:,}"]
    if report.recovered:
        parts.append(f"found already sent {report.recovered:,} (not sent again)")
    if report.already:
        parts.append(f"sent by an earlier run {report.already:,}")
    parts += [f"failed {report.failed:,}", f"outcome unknown {report.unknown:,}"]
    not_tried = (
        report.valid - report.sent - report.recovered - report.already - report.failed - report.unknown
    )
    if not_tried > 0:
        parts.append(f"not sent yet {not_tried:,}")
    print(f"{report.valid:,} recipients: " + ", ".join(parts), file=out)
    if report.exit_code == EXIT_INCOMPLETE or report.exit_code == EXIT_INTERRUPTED:
        print("run the same command again to continue: nothing already sent is sent again", file=out)
