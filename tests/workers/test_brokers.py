"""What each broker adds: RabbitMQ's quorum queues, delivery limit and dead-letter queue; the
outbox's one retry path (retry_at) that both brokers share."""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from kombu import Connection, Exchange, Producer, Queue

from app.db.repositories import notifications as notification_repo
from tests.api.helpers import FULL_NOTIFICATION, ok, org_urn, post
from tests.conftest import PREFIX, rebind_broker
from tests.factories import initialize_request
from workers import celery_app as celery_module
from workers.celery_app import Queues, create_celery, dead_letter_queue, quorum_queue

QUEUES = Queues(PREFIX)


def on_broker(settings, url: str, **broker: object):
    """The test settings with another broker URL (and broker settings)."""
    return dataclasses.replace(settings, broker=dataclasses.replace(settings.broker, url=url, **broker))


def test_redis_and_rabbitmq_get_their_own_queue_kinds(settings, rabbitmq_url, celery_broker):
    app = create_celery(on_broker(settings, rabbitmq_url))
    queues = {q.name: q.queue_arguments for q in app.conf.task_queues}
    assert set(queues) == set(QUEUES.consumed)
    assert all(a["x-queue-type"] == "quorum" for a in queues.values())
    assert all(
        a["x-delivery-limit"] == 5 and a["x-dead-letter-routing-key"] == QUEUES.dead for a in queues.values()
    )
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options == {"confirm_publish": True}
    app = create_celery(on_broker(settings, celery_broker))
    assert all(not q.queue_arguments for q in app.conf.task_queues)
    assert "visibility_timeout" in app.conf.broker_transport_options


def test_two_apps_from_two_settings_share_nothing(settings, rabbitmq_url):
    """The factory reads nothing global: each app has its settings' broker, queues and limits."""
    one = create_celery(on_broker(settings, rabbitmq_url, queue_prefix="one", delivery_limit=3))
    two = create_celery(on_broker(settings, "redis://127.0.0.1:6379/9", queue_prefix="two"))
    assert one.conf.broker_url == rabbitmq_url and two.conf.broker_url == "redis://127.0.0.1:6379/9"
    assert {q.name for q in one.conf.task_queues} == {"one.notifications", "one.maintenance", "one.events"}
    assert {q.name for q in two.conf.task_queues} == {"two.notifications", "two.maintenance", "two.events"}
    assert {q.queue_arguments["x-delivery-limit"] for q in one.conf.task_queues} == {3}
    assert one.conf.task_routes["notifications.create_orders"] == {"queue": "one.notifications"}
    assert two.conf.task_routes["lifecycle.publish_due"] == {"queue": "two.maintenance"}
    assert {e["options"]["queue"] for e in two.conf.beat_schedule.values()} == {
        "two.maintenance",
        "two.events",
    }
    assert two.conf.task_routes["events.deliver"] == {"queue": "two.events"}


def test_every_task_is_registered_on_an_app_the_factory_builds(settings):
    from workers.celery_app import SCAN_TASKS, TASK_CREATE_ORDERS

    app = create_celery(settings)
    app.loader.import_default_modules()  # what a worker does at start: the task modules
    assert {TASK_CREATE_ORDERS, *SCAN_TASKS} <= set(app.tasks)
    assert {e["task"] for e in app.conf.beat_schedule.values()} == SCAN_TASKS
    assert app.tasks[TASK_CREATE_ORDERS].app is app


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue(settings, rabbitmq_url, celery_broker):
    """A message requeued by every consumer (a task that kills its worker each time) is delivered
    BROKER_DELIVERY_LIMIT times, then RabbitMQ moves it to <prefix>.dead; the worker declares that
    queue when it starts."""
    app = create_celery(on_broker(settings, rabbitmq_url))
    celery_module._declare_dead_letter_queue(SimpleNamespace(app=app))  # what the worker_ready signal does
    with Connection(rabbitmq_url) as conn:
        channel = conn.channel()
        queue = quorum_queue(QUEUES.notifications, QUEUES, 5)(channel)
        queue.declare()
        queue.purge()
        Producer(channel, exchange=Exchange("")).publish(
            {"poison": True}, routing_key=QUEUES.notifications, serializer="json"
        )
        deliveries = 0
        while (message := _get(queue)) is not None:
            deliveries += 1
            message.requeue()
            assert deliveries <= 10, "the delivery limit did not stop the loop"
        assert deliveries == 5 + 1  # the first delivery and five redeliveries (x-delivery-limit 5)
        dead = _get(dead_letter_queue(QUEUES)(channel))
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
    deadline = time.monotonic() + 10  # a transaction older than the Initialize's, anywhere, holds it back
    seen: list[uuid.UUID] = []
    while True:
        with db.transaction() as conn:
            taken, end = notification_repo.take_new(conn, 1000)
            if end is not None:
                notification_repo.advance(conn, end)
        seen += [i for i, _ in taken]
        if cid in seen or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert cid in seen  # rows that earlier tests left past the cursor come first
    with db.transaction() as conn:
        notification_repo.retry_later(conn, {cid: timedelta(hours=1)})
        assert cid not in [i for i, _ in notification_repo.take_new(conn, 100)[0]]
        assert cid not in [i for i, _ in notification_repo.take_due_again(conn, 100)]
        stale = notification_repo.take_stale_for_dispatch(conn, redispatch_after=timedelta(0), limit=100)
        assert cid not in stale  # not the sweep either
        attempts = conn.execute(
            "SELECT attempts FROM notification_outbox WHERE correspondence_id = %s", (cid,)
        ).fetchone()["attempts"]
        assert attempts == 1
        notification_repo.retry_later(conn, {cid: timedelta(0)})
        assert cid in [i for i, _ in notification_repo.take_due_again(conn, 100)]


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
    from app.web import create_app
    from workers.broker import Broker

    url = celery_broker if kind == "redis" else request.getfixturevalue("rabbitmq_url")
    broker = Broker(url)
    broker.ping()
    queues = QUEUES.consumed
    before = broker.queue_depths(queues)[QUEUES.maintenance]
    try:
        rebind_broker(url).send_task("no.such.task", queue=QUEUES.maintenance)  # waits: nothing consumes it
        assert broker.queue_depths(queues)[QUEUES.maintenance] == before + 1
    finally:
        rebind_broker(celery_broker)
        with Connection(url) as conn:  # no test worker may receive the unknown task later
            kinds = (
                quorum_queue(QUEUES.maintenance, QUEUES, 5)
                if kind == "rabbitmq"
                else Queue(QUEUES.maintenance)
            )
            kinds(conn.channel()).purge()
    app = create_app(dataclasses.replace(settings, celery_broker_url=url))
    answer = app.test_client().get("/health")
    assert answer.status_code == 200 and answer.get_json()["checks"]["broker"] == "Healthy"


def test_an_unreachable_broker_is_unhealthy(settings) -> None:
    from app.web import create_app

    app = create_app(dataclasses.replace(settings, celery_broker_url="amqp://guest:guest@127.0.0.1:1//"))
    answer = app.test_client().get("/health")
    assert answer.status_code == 503 and answer.get_json()["checks"]["broker"].startswith("Unhealthy")
