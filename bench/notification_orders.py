"""Orders recorded per second: 10,000 recipients, with 1 and 2 worker processes, on each broker.

    .venv/bin/python bench/notification_orders.py [--recipients 10000] [--workers 1 2]
        [--brokers redis rabbitmq]

RabbitMQ runs on a scratch vhost of the local server (made and deleted with `rabbitmqctl`), with
the quorum queues, publisher confirms and prefetch the service uses. Writes
bench/results/notification-orders-<UTC time>.json.

Creates the correspondences through the Initialize use case (500 per request, with a notification
and a reminder: 2 orders each), then starts N `celery worker` processes (prefork, --concurrency 1,
as many processes as asked), publishes the outbox in 100-correspondence messages and times until
every order is recorded. Uses the local PostgreSQL/Redis when present, else the embedded ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid

from common import ROOT, admin_database_url, drop_database, redis_url, scratch_database

from app.db.pool import Database
from app.db.repositories.registry import upsert_resources
from app.domain.registry import Resource
from app.schemas.initialize import InitializeCorrespondencesRequestSchema
from app.security.identity import Caller
from app.usecases.initialize_correspondences import initialize_correspondences

SENDER = "991825827"


def create(db: Database, recipients: int) -> list[uuid.UUID]:
    with db.transaction() as conn:
        upsert_resources(
            conn,
            [Resource("bench-service", SENDER, "digdir", "Digdir", "CorrespondenceService", {"nb": "Bench"})],
        )
    caller = Caller(frozenset({"altinn:correspondence.write"}), SENDER, None, None)
    schema = InitializeCorrespondencesRequestSchema()
    ids: list[uuid.UUID] = []
    for start in range(0, recipients, 500):
        raw = {
            "correspondence": {
                "resourceId": "bench-service",
                "sendersReference": "bench",
                "content": {"language": "nb", "messageTitle": "Bench", "messageBody": "Hei"},
                "notification": {
                    "notificationChannel": "Email",
                    "emailSubject": "S",
                    "emailBody": "B",
                    "sendReminder": True,
                    "reminderEmailSubject": "RS",
                    "reminderEmailBody": "RB",
                },
            },
            "recipients": [
                f"urn:altinn:organization:identifier-no:{800000000 + i:09d}"
                for i in range(start, min(start + 500, recipients))
            ],
        }
        result = initialize_correspondences(db, caller, schema.load(raw))
        ids.extend(result.awaiting_orders)
    return ids


def pending(db: Database) -> int:
    with db.transaction() as conn:
        return conn.execute(
            "SELECT count(*) AS n FROM notification_outbox WHERE completed_at IS NULL"
        ).fetchone()["n"]


def orders(db: Database) -> int:
    with db.transaction() as conn:
        return conn.execute("SELECT count(*) AS n FROM notification_orders").fetchone()["n"]


def run_once(admin: str, broker: str, recipients: int, workers: int) -> dict[str, float]:
    url, name = scratch_database(admin)
    prefix = os.environ["CORRESPONDENCE_QUEUE_PREFIX"]  # this bench's queues (the workers read it too)
    env = dict(os.environ, DATABASE_URL=url, BROKER_URL=broker)
    db = Database(url, 4)
    procs = []
    try:
        ids = create(db, recipients)
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "workers.main",
                    "worker",
                    "--concurrency",
                    "1",
                    "--loglevel",
                    "WARNING",
                    "--without-mingle",
                    "--without-gossip",
                    "--hostname",
                    f"bench{i}-{prefix}@%h",
                ],
                cwd=ROOT,
                env=env,
                stdout=open(f"/tmp/bench-worker-{i}.log", "wb"),
                stderr=subprocess.STDOUT,
            )
            for i in range(workers)
        ]
        time.sleep(3)  # workers up and consuming
        from app.config import load_settings
        from workers.celery_app import create_celery
        from workers.dispatch import enqueue_order_creation

        celery = create_celery(load_settings())  # the environment's broker and prefix, as the workers'
        started = time.perf_counter()
        enqueue_order_creation(celery, ids)
        while pending(db):
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        recorded = orders(db)
        return {
            "broker": "rabbitmq" if broker.startswith("amqp") else "redis",
            "workers": workers,
            "correspondences": len(ids),
            "orders": recorded,
            "seconds": round(elapsed, 3),
            "orders_per_second": round(recorded / elapsed, 1),
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        from app.db.pool import close_pools

        close_pools()
        drop_database(admin, name)


def rabbitmq_vhost() -> tuple[str, str]:
    vhost = f"correspondence-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True
    )
    return f"amqp://guest:guest@127.0.0.1:5672/{vhost}", vhost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--brokers", nargs="+", default=["redis", "rabbitmq"], choices=["redis", "rabbitmq"])
    args = parser.parse_args()
    admin, redis = admin_database_url(), redis_url()
    os.environ.update(CORRESPONDENCE_QUEUE_PREFIX=f"bench-{uuid.uuid4().hex[:8]}", REDIS_URL=redis)
    results = []
    for kind in args.brokers:
        vhost = None
        broker = redis
        if kind == "rabbitmq":
            broker, vhost = rabbitmq_vhost()
        try:
            os.environ["BROKER_URL"] = broker
            results += [run_once(admin, broker, args.recipients, n) for n in args.workers]
        finally:
            if vhost:
                subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = ROOT / "bench" / "results" / f"notification-orders-{stamp}.json"
    out.write_text(json.dumps({"results": results, "command": " ".join(sys.argv)}, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
