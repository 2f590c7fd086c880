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


def _org_numbers(n: int, offset: int = 0) -> list[str]:
    from stdnum.no import orgnr

    numbers: list[str] = []
    candidate = 700000000 + (os.getpid() % 1000) * 100000 + offset * 10
    while len(numbers) < n:
        candidate += 1
        if orgnr.is_valid(str(candidate)):
            numbers.append(str(candidate))
    return numbers


def test_a_celery_worker_killed_while_its_pool_sends_500_emails_sends_each_exactly_once(
    client, sender, db, database_url, celery_broker, smtp, tmp_path
):
    """The same with the worker as the Procfile runs it: `celery worker` (prefork, 2 pool processes)
    with beat starting the e-mail task; the whole process group SIGKILLed mid-sending, another
    worker started."""
    from tests.workers.conftest import wait_until, worker_process

    recipients = [f"urn:altinn:organization:identifier-no:{n}" for n in _org_numbers(500, offset=5000)]
    with db.transaction() as conn:
        upsert_parties(
            conn, [Party(u, f"Pool {i}", [f"pool-{i}@example.test"]) for i, u in enumerate(recipients)]
        )
    ids = initialize_with_orders(client, sender, db, recipients)
    env = {
        "NOTIFICATION_GATEWAY": "smtp",
        "SMTP_URL": smtp.url,
        "SMTP_FROM": "noreply@correspondence.test",
        "EMAIL_INTERVAL_SECONDS": "0.3",
        "WORKER_LEASE_SECONDS": "3",
        "WORKER_LEASE_RENEW_SECONDS": "1",
    }
    mine = {f"pool-{i}@example.test" for i in range(500)}

    def received() -> int:
        return sum(n for address, n in smtp.per_address().items() if address in mine)

    first = worker_process(database_url, celery_broker, tmp_path, beat=True, **env)
    try:
        assert wait_until(lambda: received() >= 150, 60, 0.005), "the first worker never sent"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    at_kill = received()
    assert 150 <= at_kill < 500, at_kill

    second = worker_process(database_url, celery_broker, tmp_path, beat=True, **env)
    try:
        assert wait_until(lambda: open_deliveries(db, ids) == 0, 90, 0.2), "addresses still open"
    finally:
        os.killpg(second.pid, signal.SIGKILL)
        second.wait(10)
    counts = {address: n for address, n in smtp.per_address().items() if address in mine}
    assert counts == dict.fromkeys(mine, 1)
    assert {d["status"] for d in deliveries_of(db, ids)} == {"Succeeded"}
