"""SIGKILL of the e-mail worker while it sends a batch of 500: every address ends with exactly one
e-mail (the lease and the Sending mark, app/usecases/send_emails.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.db.repositories.registry import upsert_parties
from app.domain.registry import Party
from tests.notifications.helpers import deliveries_of, initialize_with_orders, open_deliveries
from tests.smtp_server import SmtpServer

ROOT = Path(__file__).resolve().parents[2]


def _worker(database_url: str, smtp_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.notifications.email_worker", database_url, smtp_url, "500"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


@pytest.fixture()
def smtp():
    server = SmtpServer()
    yield server
    server.stop()


def test_a_worker_killed_mid_batch_of_500_sends_every_email_exactly_once(
    client, sender, db, database_url, smtp
):
    recipients = [f"urn:altinn:organization:identifier-no:{n}" for n in _org_numbers(500)]
    with db.transaction() as conn:
        upsert_parties(
            conn, [Party(urn, f"Krasj {i}", [f"krasj-{i}@example.test"]) for i, urn in enumerate(recipients)]
        )
    ids = initialize_with_orders(client, sender, db, recipients)
    assert len(ids) == 500

    first = _worker(database_url, smtp.url)
    try:
        deadline = time.monotonic() + 60
        while len(smtp.received()) < 150 and time.monotonic() < deadline:
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    at_kill = len(smtp.received())
    assert 150 <= at_kill < 500, at_kill  # killed mid-batch

    second = _worker(database_url, smtp.url)
    try:
        deadline = time.monotonic() + 60
        while open_deliveries(db, ids) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(10)

    assert open_deliveries(db, ids) == 0
    counts = smtp.per_address()
    assert counts == {f"krasj-{i}@example.test": 1 for i in range(500)}
    assert {d["status"] for d in deliveries_of(db, ids)} == {"Succeeded"}


def _org_numbers(n: int) -> list[str]:
    from stdnum.no import orgnr

    numbers: list[str] = []
    candidate = 700000000 + (os.getpid() % 1000) * 10000
    while len(numbers) < n:
        candidate += 1
        if orgnr.is_valid(str(candidate)):
            numbers.append(str(candidate))
    return numbers
