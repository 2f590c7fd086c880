"""What each broker adds: RabbitMQ's quorum queues, delivery limit and dead-letter queue; the
outbox's one retry path (retry_at) that both brokers share."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from kombu import Connection, Exchange, Producer, Queue

from app.db.repositories import notifications as notification_repo
from tests.api.helpers import FULL_NOTIFICATION, ok, org_urn, post
from tests.conftest import rebind_broker
from tests.factories import initialize_request
from workers import celery_app as celery_module
from workers.celery_app import QUEUE_DEAD, QUEUE_NOTIFICATIONS, dead_letter_queue, quorum_queue


def test_redis_and_rabbitmq_get_their_own_queue_kinds(rabbitmq_url, celery_broker):
    app = celery_module.app
    try:
        rebind_broker(rabbitmq_url)
        queues = {q.name: q.queue_arguments for q in app.conf.task_queues}
        assert all(a["x-queue-type"] == "quorum" for a in queues.values())
        assert all(
            a["x-delivery-limit"] == 5 and a["x-dead-letter-routing-key"] == QUEUE_DEAD
            for a in queues.values()
        )
        assert app.conf.worker_prefetch_multiplier == 1
        assert app.conf.broker_transport_options == {"confirm_publish": True}
    finally:
        rebind_broker(celery_broker)
    assert all(not q.queue_arguments for q in app.conf.task_queues)
    assert "visibility_timeout" in app.conf.broker_transport_options


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue(rabbitmq_url, celery_broker):
    """A message requeued by every consumer (a task that kills its worker each time) is delivered
    BROKER_DELIVERY_LIMIT times, then RabbitMQ moves it to <prefix>.dead; the worker declares that
    queue when it starts."""
    try:
        rebind_broker(rabbitmq_url)
        celery_module._declare_dead_letter_queue()  # what the worker_ready signal does
    finally:
        rebind_broker(celery_broker)
    with Connection(rabbitmq_url) as conn:
        channel = conn.channel()
        queue = quorum_queue(QUEUE_NOTIFICATIONS)(channel)
        queue.declare()
        queue.purge()
        Producer(channel, exchange=Exchange("")).publish(
            {"poison": True}, routing_key=QUEUE_NOTIFICATIONS, serializer="json"
        )
        deliveries = 0
        while (message := _get(queue)) is not None:
            deliveries += 1
            message.requeue()
            assert deliveries <= 10, "the delivery limit did not stop the loop"
        assert deliveries == 5 + 1  # the first delivery and five redeliveries (x-delivery-limit 5)
        dead = _get(dead_letter_queue()(channel))
        assert dead is not None and dead.payload == {"poison": True}
        dead.ack()


def _get(queue, seconds: float = 3.0):
    """basic.get, polled: a message published or requeued a moment ago may not be there yet."""
    deadline = time.monotonic() + seconds
    while (message := queue.get(no_ack=False)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return message


def test_a_retry_waits_in_the_outbox_until_its_time(client, sender, db, without_session_relay):
    answer = ok(
        post(client, initialize_request([org_urn(730000000)], notification=FULL_NOTIFICATION), sender)
    )
    cid = uuid.UUID(answer["correspondences"][0]["correspondenceId"])
    with db.transaction() as conn:
        assert [i for i, _ in notification_repo.take_undispatched(conn, 100)] == [cid]
        notification_repo.retry_later(conn, {cid: timedelta(hours=1)})
        assert notification_repo.take_undispatched(conn, 100) == []
        stale = notification_repo.take_stale_for_dispatch(
            conn, undispatched_after=timedelta(0), redispatch_after=timedelta(0), limit=100
        )
        assert stale == []  # not the sweep either
        attempts = conn.execute(
            "SELECT attempts FROM notification_outbox WHERE correspondence_id = %s", (cid,)
        ).fetchone()["attempts"]
        assert attempts == 1
        notification_repo.retry_later(conn, {cid: timedelta(0)})
        assert [i for i, _ in notification_repo.take_undispatched(conn, 100)] == [cid]


@pytest.mark.parametrize("attempts", [0, 1, 3, 10])
def test_backoff_doubles_up_to_its_cap_with_half_of_it_random(attempts: int) -> None:
    from app.usecases.create_notification_orders import backoff

    base, cap = timedelta(seconds=2), timedelta(seconds=30)
    ceiling = min(cap, base * 2**attempts)
    for _ in range(50):
        delay = backoff(attempts, base, cap)
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_health_and_queue_depths_on_either_broker(kind, settings, celery_broker, request) -> None:
    import dataclasses

    from app.web import create_app
    from workers.broker import Broker
    from workers.celery_app import QUEUES

    url = celery_broker if kind == "redis" else request.getfixturevalue("rabbitmq_url")
    broker = Broker(url)
    broker.ping()
    before = broker.queue_depths(QUEUES)[QUEUES[1]]
    rebind_broker(url)
    try:
        celery_module.app.send_task("no.such.task", queue=QUEUES[1])  # waits: nothing consumes it
        assert broker.queue_depths(QUEUES)[QUEUES[1]] == before + 1
    finally:
        rebind_broker(celery_broker)
        with Connection(url) as conn:  # no test worker may receive the unknown task later
            queue = quorum_queue(QUEUES[1]) if kind == "rabbitmq" else Queue(QUEUES[1])
            queue(conn.channel()).purge()
    app = create_app(dataclasses.replace(settings, celery_broker_url=url))
    answer = app.test_client().get("/health")
    assert answer.status_code == 200 and answer.get_json()["checks"]["broker"] == "Healthy"


def test_an_unreachable_broker_is_unhealthy(settings) -> None:
    import dataclasses

    from app.web import create_app

    app = create_app(dataclasses.replace(settings, celery_broker_url="amqp://guest:guest@127.0.0.1:1//"))
    answer = app.test_client().get("/health")
    assert answer.status_code == 503 and answer.get_json()["checks"]["broker"].startswith("Unhealthy")
