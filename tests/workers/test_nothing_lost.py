"""Nothing lost, nothing duplicated: killed workers and a broker that goes away (DESIGN.md §6–7);
and a crash costs seconds (issue 28): the orders of a killed worker's batch exist within 30 s."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import psutil
import redis

from tests.api.helpers import FULL_NOTIFICATION, ok, org_urn, post
from tests.brokers import TcpProxy
from tests.conftest import PREFIX, current_celery, rebind_broker
from tests.factories import initialize_request
from tests.workers.conftest import beat_process, relay_process, wait_until, worker_process
from tests.workers.test_notification_orders import orders_of, outbox_complete
from workers.celery_app import TASK_RELAY_OUTBOX, Queues

QUEUES = Queues(PREFIX).consumed

ROOT = Path(__file__).resolve().parents[2]


# A crash costs the lease (WORKER_LEASE_SECONDS, 20 s: the dead worker's last renewal was at most 5 s
# before it died, so its rows are free 15–20 s after), then at most a second until the relay re-sends them,
# and the batch's own time: the bound.
RECOVERY_SECONDS = 30.0


def order_count(db, ids) -> int:
    return len(orders_of(db, ids))


def assert_main_and_reminder_once(db, ids: list[str]) -> None:
    orders = orders_of(db, ids)
    assert len(orders) == 2 * len(ids)  # main + reminder each
    assert len({o["id"] for o in orders}) == len(orders)
    per_correspondence: dict[object, list[bool]] = {}
    for order in orders:
        per_correspondence.setdefault(order["correspondence_id"], []).append(order["is_reminder"])
    assert len(per_correspondence) == len(ids)
    assert all(sorted(v) == [False, True] for v in per_correspondence.values())


def held(db, ids: list[str]) -> dict[str, str]:
    """Correspondence → lease owner, of the rows a worker holds now (leased, unfinished)."""
    with db.transaction() as conn:
        rows = conn.execute(
            """SELECT correspondence_id, lease_owner FROM notification_outbox
               WHERE correspondence_id = ANY(%s::uuid[]) AND claimed_until > now()""",
            (ids,),
        ).fetchall()
    return {str(r["correspondence_id"]): str(r["lease_owner"]) for r in rows}


def logs(tmp_path: Path) -> list[str]:
    return [f"{p.name}: {p.read_text()[-2000:]}" for p in sorted(tmp_path.glob("*.log"))]


def stop(*processes) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:  # a role that does not stop in time is killed
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_busy_pool_processes_killed_while_orders_are_created_cost_seconds(
    client, sender, db, database_url, broker_url, tmp_path, without_session_relay
):
    """The roles of `correspondence run` with its defaults (a prefork worker with 2 pool processes, the
    relay, beat; every lease, relay and broker setting at its default; the local gateway answering in
    10 ms an order, so that a batch of 100 takes ~2 s). Every pool process is SIGKILLed while it creates
    orders, twice; the killed batches' messages come back at once (acks_late, reject_on_worker_lost) but
    find their rows leased by the dead, so the relay re-sends them once the dead's lease passes."""
    recipients = [org_urn(701000000 + i) for i in range(400)]
    answer = ok(post(client, initialize_request(recipients, notification=FULL_NOTIFICATION), sender))
    ids = [c["correspondenceId"] for c in answer["correspondences"]]
    env = {"CORRESPONDENCE_QUEUE_PREFIX": PREFIX, "LOCAL_GATEWAY_LATENCY_MS": "10"}
    worker = worker_process(database_url, broker_url, tmp_path, **env)
    roles = [worker, relay_process(database_url, broker_url, tmp_path, **env)]
    roles.append(beat_process(database_url, broker_url, tmp_path, **env))
    killed_owners: set[str] = set()
    try:
        for kill in (1, 2):
            # Busy: pool processes hold rows of a batch they have not finished (a batch started after
            # the previous kill, for the second).
            assert wait_until(lambda: set(held(db, ids).values()) - killed_owners, 60, 0.05), (
                f"no busy pool process before kill {kill}",
                logs(tmp_path),
            )
            pool = psutil.Process(worker.pid).children()  # beat and the relay are processes of their own
            assert 1 <= len(pool) <= 2
            for process in pool:
                process.send_signal(signal.SIGKILL)
            last_kill = time.monotonic()
            psutil.wait_procs(pool, timeout=10)
            # The rows the killed processes held stay held by the dead until their lease passes.
            fresh = set(held(db, ids).values()) - killed_owners
            assert fresh, f"kill {kill} did not land mid-batch"
            killed_owners.update(fresh)
        assert not outbox_complete(db, ids)
        assert wait_until(lambda: outbox_complete(db, ids), RECOVERY_SECONDS + 30, 0.2), logs(tmp_path)
        recovery = time.monotonic() - last_kill
    finally:
        stop(*roles)
    print(f"\n{broker_url.split(':', 1)[0]}: every order {recovery:.1f} s after the last kill")
    assert recovery <= RECOVERY_SECONDS, f"orders complete {recovery:.1f} s after the last kill"
    assert_main_and_reminder_once(db, ids)


def test_worker_killed_mid_batch_loses_no_order_and_duplicates_none(
    client, sender, db, database_url, broker_url, tmp_path
):
    """The whole worker (its main process too) SIGKILLed, and another started. The lease is the default
    one; on Redis the messages the dead main process had taken but not started come back only after
    BROKER_VISIBILITY_TIMEOUT (600 s) or the sweep's OUTBOX_REDISPATCH_AFTER_SECONDS (120 s), which
    this test shortens to 3 s (RabbitMQ gives them back when the connection drops)."""
    recipients = [org_urn(700000000 + i) for i in range(300)]
    answer = ok(post(client, initialize_request(recipients, notification=FULL_NOTIFICATION), sender))
    ids = [c["correspondenceId"] for c in answer["correspondences"]]
    expected = 2 * len(ids)  # main + reminder each
    env = {
        "CORRESPONDENCE_QUEUE_PREFIX": PREFIX,
        "LOCAL_GATEWAY_LATENCY_MS": "10",
        "OUTBOX_REDISPATCH_AFTER_SECONDS": "3",
        "OUTBOX_UNDISPATCHED_AFTER_SECONDS": "1",
        "OUTBOX_RELAY_INTERVAL_SECONDS": "1",
        "BROKER_VISIBILITY_TIMEOUT": "30",
    }
    first = worker_process(database_url, broker_url, tmp_path, **env)
    try:
        assert wait_until(lambda: order_count(db, ids) > 0, 60), "the first worker never started recording"
        time.sleep(0.5)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        killed = time.monotonic()
        first.wait(10)
    at_kill = order_count(db, ids)
    assert 0 < at_kill < expected, f"kill did not land mid-batch ({at_kill} of {expected})"

    second = worker_process(database_url, broker_url, tmp_path, beat=True, **env)
    try:
        assert wait_until(lambda: outbox_complete(db, ids), RECOVERY_SECONDS + 30), (
            "orders still missing after takeover"
        )
        recovery = time.monotonic() - killed
    finally:
        stop(second)
    print(f"\n{broker_url.split(':', 1)[0]}: every order {recovery:.1f} s after the worker was killed")
    assert recovery <= RECOVERY_SECONDS, f"orders complete {recovery:.1f} s after the kill"
    assert_main_and_reminder_once(db, ids)


def test_broker_down_during_initialize_loses_nothing(app, sender, db, use_gateway, broker_url):
    """Requests succeed while the broker is unreachable; their orders exist once it is back (relay +
    worker). The broker is cut off by a TCP proxy in front of it (the server itself keeps running)."""
    from celery.contrib.testing.worker import start_worker

    host_port = broker_url.split("://", 1)[1].rpartition("@")[2].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    proxy = TcpProxy(host, int(port or (5672 if broker_url.startswith("amqp") else 6379)))
    celery_app = rebind_broker(proxy.url_for(broker_url))
    try:
        proxy.cut()
        client = app.test_client()
        ids = []
        for i in range(3):
            started = time.monotonic()
            answer = ok(
                post(
                    client,
                    initialize_request([org_urn(710000000 + i)], notification=FULL_NOTIFICATION),
                    sender,
                )
            )
            assert time.monotonic() - started < 10, "Initialize must not hang on a dead broker"
            ids.append(answer["correspondences"][0]["correspondenceId"])
        time.sleep(1)  # the relay tries (and fails) to publish meanwhile
        assert order_count(db, ids) == 0 and not outbox_complete(db, ids)

        proxy.restore()
        use_gateway(undispatched_after=timedelta(0))
        with start_worker(
            celery_app,
            pool="solo",
            perform_ping_check=False,
            queues=list(QUEUES),
            loglevel="WARNING",
            shutdown_timeout=30,
        ):
            celery_app.send_task(TASK_RELAY_OUTBOX, queue=QUEUES[1])  # what beat sends every few seconds
            assert wait_until(lambda: outbox_complete(db, ids), 30)
        assert order_count(db, ids) == 6
    finally:
        proxy.cut()
        rebind_broker(broker_url)


def test_every_queue_has_a_consumer_and_every_scheduled_task_a_queue():
    procfile = (ROOT / "Procfile").read_text()
    roles = dict(line.split(":", 1) for line in procfile.splitlines() if line.strip())
    assert {"web", "worker", "events", "beat", "flower"} <= set(roles)
    consumed: dict[str, set[str]] = {}
    for role in ("worker", "events"):
        listed = re.search(r"(?:-Q|--queues)[ =](\S+)", roles[role])
        names = (
            listed.group(1).replace("${CORRESPONDENCE_QUEUE_PREFIX:-correspondence}", PREFIX)
            if listed
            else ""
        )
        consumed[role] = set(names.split(",")) if listed else set(QUEUES)  # no -Q: all task_queues
    assert set(QUEUES) <= consumed["worker"] | consumed["events"]
    # A slow subscriber never delays the general worker: the events have a role of their own.
    assert consumed["events"] == {Queues(PREFIX).events}
    assert Queues(PREFIX).events not in consumed["worker"]
    celery_app = current_celery()
    declared = {q.name for q in celery_app.conf.task_queues}
    assert declared == set(QUEUES)
    for entry in celery_app.conf.beat_schedule.values():
        assert entry["options"]["queue"] in QUEUES
    for route in celery_app.conf.task_routes.values():
        assert route["queue"] in QUEUES


def test_the_test_broker_is_reachable(redis_url):
    assert redis.Redis.from_url(redis_url).ping()
