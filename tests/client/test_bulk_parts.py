"""Parts of the bulk sender on their own: the progress display, the journal, the job's identity."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from app.cli import main
from correspondence_client.bulk.journal import DONE, FAILED, UNKNOWN, Journal, JournalMismatch
from correspondence_client.bulk.plan import RecipientFile
from correspondence_client.progress import Progress
from tests.client.test_send import send, write_csv, write_message

JOB = {"job": "j1", "recipients_sha256": "r", "message_sha256": "m", "chunk_size": 500, "rows": 1000}


def test_progress_plain_and_bar_lines():
    now = [0.0]
    plain = Progress("sending", 100_000, stream=io.StringIO(), mode="plain", clock=lambda: now[0])
    plain.advance(40_000, skipped=True)  # sent by an earlier run: not in the rate
    now[0] = 10.0
    plain.advance(20_000, failed=500)
    assert plain.line() == "[sending] 60,000/100,000 rows (60%), 2,000 rows/s, ETA 0:00:20, failed 500"
    now[0] = 0.0
    bar = Progress(
        "sending", 100_000, stream=io.StringIO(), mode="bar", clock=lambda: now[0], extra=lambda: "retries 3"
    )
    now[0] = 10.0
    bar.advance(25_000)
    line = bar.line(100)
    assert len(line) <= 100 and line.endswith(
        " 25% 25,000/100,000 rows  2,500/s  ETA 0:00:30  failed 0  retries 3"
    )
    drawn = line.split()[1]
    assert drawn.count("█") == len(drawn) // 4 and set(drawn) == {"█", "░"}
    stream = io.StringIO()
    with Progress("sending", 10, stream=stream, mode="plain", interval=60, clock=lambda: now[0]) as shown:
        shown.advance(10)
    assert stream.getvalue() == "[sending] 10/10 rows (100%), 0 rows/s, ETA 0:00:00, failed 0\n"


def test_journal_keeps_the_last_state_and_drops_a_line_cut_short(tmp_path):
    path = tmp_path / "r.csv.journal"
    journal = Journal(path, JOB)
    journal.attempt(0, "d0", "ref:0")
    journal.done(0, [["urn:x", "id", "ReadyForPublish"]], recovered=False)
    journal.attempt(1, "d1", "ref:1")
    journal.failed(1, "400 error 1029", 404, 1029)
    journal.attempt(2, "d2", "ref:2")
    journal.unknown(2, "no answer")
    journal.attempt(3, "d3", "ref:3")
    journal.close()
    with open(path, "ab") as handle:
        handle.write(b'{"t":"done","chunk":3,"resu')  # the crash came mid-write
    again = Journal(path, JOB)
    assert {i: s.state for i, s in again.chunks.items()} == {0: DONE, 1: FAILED, 2: UNKNOWN, 3: "attempt"}
    assert again.read_at(again.state(0).result_offset)["results"] == [["urn:x", "id", "ReadyForPublish"]]
    assert again.state(1).error == "400 error 1029" and again.state(3).attempted_at is not None
    again.done(3, [], recovered=True)
    again.close()
    assert [json.loads(line)["t"] for line in path.read_text().splitlines()][-2:] == ["attempt", "done"]
    with pytest.raises(JournalMismatch, match="message_sha256"):
        Journal(path, {**JOB, "job": "j2", "message_sha256": "other"})


def test_header_delimiter_and_column_are_recognised(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("navn\tOrgnr\nEksempel AS\t310654329\n", encoding="utf-8")
    file = RecipientFile(path)
    assert file.header and file.columns == ["navn", "Orgnr"] and file.column_index == 1
    with pytest.raises(ValueError, match="no such column"):
        RecipientFile(path, placeholders={"kommune"})


def test_another_message_with_the_same_result_file_is_refused(service, tokens, tmp_path):
    url, faults = service
    recipients = write_csv(tmp_path / "one.csv", [["313721779"]])
    first = send(
        url,
        tokens.make(),
        "--recipients",
        str(recipients),
        "--message",
        str(write_message(tmp_path / "m1.json", "job-a")),
    )
    assert first.exit_code == 0, first.output
    other = send(
        url,
        tokens.make(),
        "--recipients",
        str(recipients),
        "--message",
        str(write_message(tmp_path / "m2.json", "job-b")),
    )
    assert other.exit_code == 1 and "belongs to another job (message_sha256 differ)" in other.output
    assert faults.initializes == 1


def test_dry_run_plans_without_a_token_and_sends_nothing(service, tmp_path):
    url, faults = service
    recipients = write_csv(tmp_path / "plan.csv", [[f"{700000000 + i}"] for i in range(1001)])
    body = tmp_path / "body.md"
    body.write_text("Hei **alle**", encoding="utf-8")
    run = CliRunner().invoke(
        main,
        [
            "send",
            "--url",
            url,
            "--recipients",
            str(recipients),
            "--title",
            "Hei",
            "--body-file",
            str(body),
            "--resource",
            "test-service",
            "--dry-run",
        ],
    )
    assert run.exit_code == 0, run.output
    assert "dry run: 1,001 rows, 1,001 valid, 0 invalid; 3 request(s) of at most 500" in run.output
    assert faults.initializes == 0 and not (tmp_path / "plan.result.csv").exists()
    missing = CliRunner().invoke(
        main,
        ["send", "--recipients", str(recipients), "--title", "Hei", "--body-file", str(body), "--dry-run"],
    )
    assert missing.exit_code == 2 and "give --resource" in missing.output
