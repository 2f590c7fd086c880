"""E-mails per second from the smtp gateway's worker to a local SMTP server (issue 25).

    .venv/bin/python bench/emails.py [--addresses 2000] [--workers 1 2]

Initializes `addresses` correspondences (500 per request) to organizations that have one e-mail
address each, creates their orders with the smtp gateway and publishes them; then, for each worker
count, sets every address back to New and times worker processes running the e-mail worker's use
case (app.usecases.send_emails.send_due_emails, batches of 100, one SMTP connection per batch) until
every address is Succeeded. The SMTP server is aiosmtpd in a process of its own on loopback,
accepting everything. Writes bench/results/emails.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from datetime import UTC, datetime
from pathlib import Path

from common import admin_database_url, drop_database, scratch_database

from app.db.pool import Database
from app.db.repositories.registry import upsert_parties, upsert_resources
from app.domain.registry import Party, Resource
from app.schemas.initialize import InitializeCorrespondencesRequestSchema
from app.security.identity import Caller
from app.usecases.create_notification_orders import OrderPolicy, create_notification_orders
from app.usecases.initialize_correspondences import initialize_correspondences
from app.usecases.send_emails import EmailPolicy, send_due_emails
from workers.gateways.smtp import SmtpChannel, SmtpGateway, SmtpSettings

SENDER = "991825827"
RESULTS = Path(__file__).parent / "results" / "emails.json"


def smtp_server(port: int, received, ready) -> None:  # a process of its own
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope) -> str:
            with received.get_lock():
                received.value += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def worker(database_url: str, smtp_url: str) -> None:  # a process of its own
    db = Database(database_url, 2)
    channel = SmtpChannel(SmtpSettings.from_url(smtp_url), "noreply@bench.test")
    policy = EmailPolicy(batch=100)
    idle = 0
    while idle < 20:
        idle = 0 if send_due_emails(db, channel, policy=policy).claimed else idle + 1
        if idle:
            time.sleep(0.05)


def org_numbers(n: int) -> list[str]:
    from stdnum.no import orgnr

    numbers, candidate = [], 800000000
    while len(numbers) < n:
        candidate += 1
        if orgnr.is_valid(str(candidate)):
            numbers.append(str(candidate))
    return numbers


def prepare(db: Database, addresses: int) -> list:
    with db.transaction() as conn:
        upsert_resources(
            conn,
            [Resource("bench-service", SENDER, "digdir", "Digdir", "CorrespondenceService", {"nb": "Bench"})],
        )
    urns = [f"urn:altinn:organization:identifier-no:{n}" for n in org_numbers(addresses)]
    with db.transaction() as conn:
        upsert_parties(
            conn, [Party(u, f"Mottaker {i}", [f"post-{i}@bench.test"]) for i, u in enumerate(urns)]
        )
    caller = Caller(frozenset({"altinn:correspondence.write"}), SENDER, None, None)
    schema = InitializeCorrespondencesRequestSchema()
    ids = []
    for start in range(0, addresses, 500):
        raw = {
            "correspondence": {
                "resourceId": "bench-service",
                "sendersReference": "bench",
                "content": {"language": "nb", "messageTitle": "Bench", "messageBody": "Hei"},
                "notification": {
                    "notificationTemplate": "GenericAltinnMessage",
                    "notificationChannel": "Email",
                },
            },
            "recipients": urns[start : start + 500],
        }
        answer = initialize_correspondences(db, caller, schema.load(raw))
        ids += [c.correspondence_id for c in answer.correspondences]
    for start in range(0, len(ids), 100):
        create_notification_orders(db, SmtpGateway(), ids[start : start + 100], policy=OrderPolicy())
    with db.transaction() as conn:
        conn.execute(
            """INSERT INTO correspondence_statuses (id, correspondence_id, status, status_text, status_changed)
               SELECT gen_random_uuid(), id, 2, 'Published', %s FROM correspondences""",
            (datetime.now(UTC),),
        )
    return ids


def reset(db: Database) -> int:
    with db.transaction() as conn:
        conn.execute("DELETE FROM correspondence_events")
        conn.execute("UPDATE notification_orders SET delivery_status = NULL, notification_sent = NULL")
        return conn.execute(
            """UPDATE notification_deliveries SET status = 'New', reason = NULL, attempts = 0, retry_at = NULL,
                      locked_until = NULL, lease_owner = NULL, message_id = NULL"""
        ).rowcount


def succeeded(db: Database) -> int:
    with db.transaction() as conn:
        return conn.execute(
            "SELECT count(*) AS n FROM notification_deliveries WHERE status = 'Succeeded'"
        ).fetchone()["n"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--addresses", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    admin = admin_database_url()
    url, name = scratch_database(admin)
    context = multiprocessing.get_context("spawn")
    received, ready = context.Value("i", 0), context.Event()
    from tests.smtp_server import free_port

    port = free_port()
    server = context.Process(target=smtp_server, args=(port, received, ready), daemon=True)
    server.start()
    ready.wait(10)
    runs = []
    try:
        db = Database(url, 4)
        prepare(db, args.addresses)
        for count in args.workers:
            total = reset(db)
            before = received.value
            started = time.perf_counter()
            procs = [
                context.Process(target=worker, args=(url, f"smtp://127.0.0.1:{port}")) for _ in range(count)
            ]
            for p in procs:
                p.start()
            while succeeded(db) < total and time.perf_counter() - started < 600:
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            for p in procs:
                p.terminate()
                p.join(10)
            sent = received.value - before
            runs.append(
                {
                    "workers": count,
                    "addresses": total,
                    "succeeded": succeeded(db),
                    "messages_received": sent,
                    "seconds": round(seconds, 2),
                    "emails_per_second": round(total / seconds, 1),
                }
            )
            print(json.dumps(runs[-1]))
    finally:
        server.terminate()
        drop_database(admin, name)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"bench": "emails", "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
