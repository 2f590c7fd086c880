"""Nothing lost, nothing duplicated: killed workers and a broker that goes away (DESIGN.md §6–7)."""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import timedelta
from pathlib import Path

import redis

from tests.api.helpers import FULL_NOTIFICATION, ok, org_urn, post
from tests.brokers import TcpProxy
from tests.conftest import PREFIX, current_celery, rebind_broker
from tests.factories import initialize_request
from tests.workers.conftest import wait_until, worker_process
from tests.workers.test_notification_orders import orders_of, outbox_complete
from workers.celery_app import TASK_RELAY_OUTBOX, Queues

QUEUES = Queues(PREFIX).consumed

ROOT = Path(__file__).resolve().parents[2]


def order_count(db, ids) -> int:
    return len(orders_of(db, ids))


def test_worker_killed_mid_batch_loses_no_order_and_duplicates_none(
    client, sender, db, database_url, broker_url, tmp_path
):
    recipients = [org_urn(700000000 + i) for i in range(300)]
    answer = ok(post(client, initialize_request(recipients, notification=FULL_NOTIFICATION), sender))
    ids = [c["correspondenceId"] for c in answer["correspondences"]]
    expected = 2 * len(ids)  # main + reminder each
    env = {
        "CORRESPONDENCE_QUEUE_PREFIX": PREFIX,
        "LOCAL_GATEWAY_LATENCY_MS": "10",
        "OUTBOX_REDISPATCH_AFTER_SECONDS": "3",
        "OUTBOX_CLAIM_LEASE_SECONDS": "3",  # the killed worker's rows go to the next one after 3 s
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
        first.wait(10)
    at_kill = order_count(db, ids)
    assert 0 < at_kill < expected, f"kill did not land mid-batch ({at_kill} of {expected})"

    second = worker_process(database_url, broker_url, tmp_path, beat=True, **env)
    try:
        assert wait_until(lambda: outbox_complete(db, ids), 120), "orders still missing after takeover"
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(30)
    orders = orders_of(db, ids)
    assert len(orders) == expected
    assert len({o["id"] for o in orders}) == expected
    per_correspondence = {}
    for order in orders:
        per_correspondence.setdefault(order["correspondence_id"], []).append(order["is_reminder"])
    assert all(sorted(v) == [False, True] for v in per_correspondence.values())


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
    assert {"web", "worker", "beat", "flower"} <= set(roles)
    worker = roles["worker"]
    listed = re.search(r"(?:-Q|--queues)[ =](\S+)", worker)
    consumed = set(listed.group(1).split(",")) if listed else set(QUEUES)  # no -Q: all task_queues
    assert set(QUEUES) <= consumed
    celery_app = current_celery()
    declared = {q.name for q in celery_app.conf.task_queues}
    assert declared == set(QUEUES)
    for entry in celery_app.conf.beat_schedule.values():
        assert entry["options"]["queue"] in QUEUES
    for route in celery_app.conf.task_routes.values():
        assert route["queue"] in QUEUES


def test_the_test_broker_is_reachable(redis_url):
    assert redis.Redis.from_url(redis_url).ping()
