"""`correspondence send` against the service over real HTTP: chunks of ≤ 500, the result CSV, bad rows
before anything is sent, and runs that resume (after a 503 storm, lost answers, a kill) sending nothing
twice."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.client.conftest import INITIALIZE, count_by_recipient, unique_reference
from tests.factories import NO_CONTACT_PERSON, ORG_RECIPIENT, RESERVED_PERSON

ROOT = Path(__file__).resolve().parents[2]


def org(i: int) -> str:
    return f"{810000000 + i}"


def urn(number: str) -> str:
    return f"urn:altinn:organization:identifier-no:{number}"


def write_csv(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def write_message(path: Path, reference: str, **correspondence) -> Path:
    body = {
        "resourceId": "test-service",
        "sendersReference": reference,
        "content": {"language": "nb", "messageTitle": "Skatteoppgjør", "messageBody": "Ditt **oppgjør**"},
    }
    body.update(correspondence)
    path.write_text(json.dumps({"correspondence": body}), encoding="utf-8")
    return path


def send(url: str, token: str, *args: str):
    return CliRunner().invoke(
        main,
        ["send", "--url", url, "--token", token, "--settle", "0.1", "--progress-interval", "0.2", *args],
        catch_exceptions=False,
    )


def results(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def journal_records(path: Path) -> list[dict]:
    """The journal's complete lines: read while a run writes it, its last line may be half written."""
    *complete, _partial = path.read_text().split("\n")
    return [json.loads(line) for line in complete if line.strip()]


def _stored_unanswered(db, records: list[dict], at_least_done: int, hold: float) -> bool:
    """Whether, after `at_least_done` chunks, a chunk is stored whose answer cannot have come yet: its
    attempt is less than half the answers' `hold` old (stored after it, answered `hold` after that),
    so a kill now lands before its answer. Two chunks in flight finish together: one done already
    says little of the other."""
    done = {r["chunk"] for r in records if r["t"] == "done"}
    recent = time.time() - hold / 2
    pending = [
        r["ref"] for r in records if r["t"] == "attempt" and r["chunk"] not in done and r["at"] > recent
    ]
    if len(done) < at_least_done or not pending:
        return False
    with db.transaction() as conn:
        return conn.execute(
            "SELECT EXISTS (SELECT 1 FROM initializations WHERE senders_reference = ANY(%s)) AS stored",
            (pending,),
        ).fetchone()["stored"]


def test_sends_in_chunks_writes_the_result_and_a_second_run_sends_nothing(service, tokens, db, tmp_path):
    url, faults = service
    numbers = [org(i) for i in range(1201)]
    recipients = write_csv(tmp_path / "list.csv", [[n, f"Firma {i}"] for i, n in enumerate(numbers)])
    reference = unique_reference("bulk")
    message = write_message(tmp_path / "message.json", reference)
    run = send(url, tokens.make(), "--recipients", str(recipients), "--message", str(message))
    assert run.exit_code == 0, run.output
    assert "1,201 recipients: sent 1,201, failed 0, outcome unknown 0" in run.output
    assert "[sending] 1,201/1,201 rows (100%)" in run.output  # plain progress lines when not a terminal
    assert faults.initializes == 3  # 500 + 500 + 201
    rows = results(tmp_path / "list.result.csv")
    assert [r["line"] for r in rows] == [str(i) for i in range(1, 1202)]
    assert {r["outcome"] for r in rows} == {"sent"} and all(len(r["correspondence_id"]) == 36 for r in rows)
    assert [r["urn"] for r in rows] == [urn(n) for n in numbers]
    assert count_by_recipient(db, reference) == {urn(n): 1 for n in numbers}

    again = send(url, tokens.make(), "--recipients", str(recipients), "--message", str(message))
    assert again.exit_code == 0, again.output
    assert "sent 0, sent by an earlier run 1,201" in again.output
    assert faults.initializes == 3 and count_by_recipient(db, reference) == {urn(n): 1 for n in numbers}
    assert results(tmp_path / "list.result.csv") == rows


def test_without_its_journal_a_run_again_still_sends_nothing_twice(service, tokens, db, tmp_path):
    """Chunks of several recipients are found by their sendersReference, a chunk of one by its key."""
    url, faults = service
    numbers = [org(1500 + i) for i in range(3)]
    recipients = write_csv(tmp_path / "lost.csv", [[n] for n in numbers])
    reference = unique_reference("lost")
    args = [
        "--recipients",
        str(recipients),
        "--message",
        str(write_message(tmp_path / "m.json", reference)),
        "--chunk-size",
        "2",
    ]
    assert send(url, tokens.make(), *args).exit_code == 0
    (tmp_path / "lost.result.csv.journal").unlink()
    again = send(url, tokens.make(), *args)
    assert again.exit_code == 0, again.output
    assert "sent 0, found already sent 3 (not sent again)" in again.output  # the single one via 409/1034
    assert faults.initializes == 3 and count_by_recipient(db, reference) == {urn(n): 1 for n in numbers}
    assert [r["outcome"] for r in results(tmp_path / "lost.result.csv")] == ["sent"] * 3


def test_bad_rows_are_listed_with_their_lines_before_anything_is_sent(service, tokens, db, tmp_path):
    url, faults = service
    recipients = tmp_path / "bad.csv"
    recipients.write_text(
        "recipient;name\n313721779;Testbedrift\n08900499558;Feil kontrollsiffer\n\n"
        "0192:313721779;Dublett\n12345;Kort\n26818099001;Tenor\n",
        encoding="utf-8",
    )
    reference = unique_reference("bad")
    message = write_message(tmp_path / "message.json", reference)
    run = send(url, tokens.make(), "--recipients", str(recipients), "--message", str(message))
    assert run.exit_code == 2
    assert "3 invalid row(s) found; nothing was sent:" in run.output
    assert "line 3: invalid national identity number 08900499558" in run.output
    assert "line 5: duplicate of line 2" in run.output and "line 6: '12345': 5 digits" in run.output
    assert faults.initializes == 0 and not (tmp_path / "bad.result.csv").exists()

    skipped = send(
        url, tokens.make(), "--recipients", str(recipients), "--message", str(message), "--skip-invalid"
    )
    assert skipped.exit_code == 0, skipped.output
    rows = {r["line"]: r for r in results(tmp_path / "bad.result.csv")}
    assert {line: r["outcome"] for line, r in rows.items()} == {
        "2": "sent",
        "3": "invalid",
        "5": "invalid",
        "6": "invalid",
        "7": "sent",
    }
    assert rows["5"]["error"].startswith("duplicate of line 2")
    assert count_by_recipient(db, reference) == {ORG_RECIPIENT: 1, RESERVED_PERSON: 1}


def test_a_503_storm_stops_the_run_and_the_next_run_finishes_without_duplicates(
    service, tokens, db, tmp_path
):
    url, faults = service
    numbers = [org(2000 + i) for i in range(250)]
    recipients = write_csv(tmp_path / "storm.csv", [[n] for n in numbers])
    reference = unique_reference("storm")
    message = write_message(tmp_path / "message.json", reference)
    faults.add(INITIALIZE, ("lose", 502))  # chunk 0: stored, answer lost → found by its reference
    faults.add(INITIALIZE, ("status", 503, 0), times=1000)
    args = [
        "--recipients",
        str(recipients),
        "--message",
        str(message),
        "--chunk-size",
        "50",
        "--concurrency",
        "1",
    ]
    run = send(url, tokens.make(), *args, "--max-attempts", "2", "--max-failed-chunks", "2")
    assert run.exit_code == 1, run.output
    assert "stopped after 2 failed requests" in run.output and "run the same command again" in run.output
    assert count_by_recipient(db, reference) == {urn(n): 1 for n in numbers[:50]}
    outcomes = [r["outcome"] for r in results(tmp_path / "storm.result.csv")]
    assert outcomes == ["sent"] * 50 + ["failed"] * 100 + ["not sent"] * 100  # in flight: at most 2

    faults.clear()
    again = send(url, tokens.make(), *args)
    assert again.exit_code == 0, again.output
    assert "sent 200, sent by an earlier run 50" in again.output
    assert faults.initializes == 4
    assert count_by_recipient(db, reference) == {urn(n): 1 for n in numbers}
    records = journal_records(tmp_path / "storm.result.csv.journal")
    assert [r["recovered"] for r in records if r["t"] == "done" and r["chunk"] == 0] == [True]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT], ids=["killed", "Ctrl-C"])
def test_stopped_mid_run_the_next_run_sends_nothing_twice(service, tokens, db, tmp_path, signum):
    url, faults = service
    numbers = [org(5000 + i) for i in range(3000)]
    recipients = write_csv(tmp_path / "kill.csv", [[n] for n in numbers])
    reference = unique_reference("kill")
    message = write_message(tmp_path / "message.json", reference)
    journal = tmp_path / "kill.result.csv.journal"
    faults.add(INITIALIZE, ("hold", 0.3), times=1000)  # stored at once, answered 0.3 s later
    token = tokens.make()
    args = [
        "send",
        "--url",
        url,
        "--recipients",
        str(recipients),
        "--message",
        str(message),
        "--chunk-size",
        "100",
        "--concurrency",
        "2",
        "--settle",
        "0.3",
    ]
    with open(tmp_path / "first-run.log", "wb") as log:
        first = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", *args],
            cwd=ROOT,
            env=dict(os.environ, CORRESPONDENCE_TOKEN=token),
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and first.poll() is None:
            # After three chunks, as soon as one is stored whose answer cannot have come yet. Two
            # counters compared instead (answers given, chunks done) raced with the answers.
            if journal.exists() and _stored_unanswered(
                db, journal_records(journal), at_least_done=3, hold=0.3
            ):
                break
            time.sleep(0.01)
        first.send_signal(signum)
        first.wait(20)
    log = (tmp_path / "first-run.log").read_text()
    if signum == signal.SIGKILL:
        assert first.returncode == -signal.SIGKILL, log
    else:  # what was under way is finished and written down, then the run stops
        assert first.returncode == 130 and "interrupted: finishing the requests under way" in log, log
        assert "run the same command again to continue" in log
    sent_before = count_by_recipient(db, reference)
    assert 300 <= len(sent_before) < 3000
    faults.clear()

    again = send(url, tokens.make(), *args[3:])
    assert again.exit_code == 0, again.output
    if signum == signal.SIGKILL:
        assert "found already sent" in again.output  # the stored chunk whose answer the kill cut off
    counts = count_by_recipient(db, reference)
    assert len(counts) == 3000 and set(counts.values()) == {1}
    with db.transaction() as conn:
        stored = conn.execute(
            "SELECT count(*) AS n FROM initializations WHERE senders_reference LIKE %s", (reference + "%",)
        ).fetchone()["n"]
    assert stored == 30
    rows = results(tmp_path / "kill.result.csv")
    assert len(rows) == 3000 and {r["outcome"] for r in rows} == {"sent"}
    assert len({r["correspondence_id"] for r in rows}) == 3000


def test_placeholders_fill_each_recipients_message(service, tokens, db, tmp_path):
    url, faults = service
    recipients = write_csv(
        tmp_path / "named.csv",
        [["313721779", "Testbedrift"], ["08900499559", "Kari"]],
        header=["recipient", "name"],
    )
    reference = unique_reference("named")
    message = write_message(tmp_path / "message.json", reference)
    data = json.loads(message.read_text())
    data["correspondence"]["content"]["messageTitle"] = "Hei {{name}}"
    message.write_text(json.dumps(data))
    run = send(url, tokens.make(), "--recipients", str(recipients), "--message", str(message))
    assert run.exit_code == 0, run.output
    assert "one request per recipient" in run.output and faults.initializes == 2
    with db.transaction() as conn:
        titles = {
            r["recipient"]: r["message_title"]
            for r in conn.execute(
                "SELECT c.recipient, i.message_title FROM correspondences c JOIN initializations i "
                "ON i.id = c.initialization_id WHERE i.senders_reference LIKE %s",
                (reference + "%",),
            )
        }
    assert titles == {
        ORG_RECIPIENT: "Hei Testbedrift",
        "urn:altinn:person:identifier-no:08900499559": "Hei Kari",
    }
    again = send(
        url, tokens.make(), "--recipients", str(recipients), "--message", str(message), "--chunk-size", "1"
    )
    assert again.exit_code == 0 and faults.initializes == 2


def test_wait_follows_the_orders_to_a_summary(service, tokens, db, tmp_path, worker):
    url, _ = service
    unknown = [org(9000 + i) for i in range(2)]
    recipients = write_csv(
        tmp_path / "notify.csv",
        [[ORG_RECIPIENT], [NO_CONTACT_PERSON], [RESERVED_PERSON], *[[n] for n in unknown]],
    )
    message = write_message(
        tmp_path / "message.json",
        unique_reference("wait"),
        notification={
            "notificationChannel": "Email",
            "emailSubject": "Varsel",
            "emailBody": "Du har post",
            "sendReminder": True,
            "reminderEmailSubject": "Påminnelse",
            "reminderEmailBody": "Husk posten",
        },
    )
    run = send(
        url,
        tokens.make(),
        "--recipients",
        str(recipients),
        "--message",
        str(message),
        "--wait",
        "--poll-interval",
        "0.2",
        "--wait-timeout",
        "60",
    )
    assert run.exit_code == 0, run.output
    assert "[notifications] 5/5 final (100%)" in run.output
    table = run.output[run.output.index("notification orders") :]
    assert table.splitlines()[1:6] == [
        "  Success                      1         1         2",
        "  MissingContact               3         3         6",
        "  Failure                      0         0         0",
        "correspondences without orders (Reserved): 1",
        "correspondences not final after 60 s: 0",
    ]
    notified = {r["urn"]: r["notifications"] for r in results(tmp_path / "notify.result.csv")}
    assert notified[ORG_RECIPIENT] == "Success; reminder: Success"
    assert notified[RESERVED_PERSON] == "none (Reserved)"
