"""No subscriber can slow the others (docs/sending.md, "Events to subscribers"): one deadline per delivery
for the whole exchange, and deliveries on a queue and worker of their own."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

from app.db.repositories import events as events_repo
from app.domain.events import new_secret
from tests.api.helpers import FULL_NOTIFICATION, ok, post
from tests.conftest import PREFIX
from tests.factories import ORG_RECIPIENT, initialize_request
from tests.workers.conftest import beat_process, relay_process, wait_until, worker_process
from tests.workers.test_nothing_lost import stop
from tests.workers.test_notification_orders import orders_of
from workers.celery_app import Queues
from workers.gateways.webhooks import post_event


class DripServer:
    """Accepts every connection, then answers one byte every `every` seconds, forever."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                if self._stopped.wait(self.every):
                    return
                conn.sendall(bytes([byte]))

    def close(self) -> None:
        self._stopped.set()
        self.sock.close()


def test_one_deadline_covers_the_whole_exchange():
    server = DripServer(every=0.4)  # each read gets a byte in time; the status line never ends in time
    try:
        started = time.monotonic()
        result = post_event(
            server.url, new_secret(), {"id": "x"}, allow_private=True, timeout=2.0, connect_timeout=1.0
        )
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert not result.ok and "deadline" in (result.error or "")
    assert 1.9 <= elapsed < 3.0


def test_a_hundred_dripping_subscribers_delay_neither_publication_nor_orders(
    client, sender, db, database_url, celery_broker, tmp_path, without_session_relay
):
    """The roles as `correspondence run` starts them (a general worker, the events worker, the relay,
    beat), every event setting at its default, 100 active subscriptions whose endpoint answers one
    byte every 5 s."""
    server = DripServer(every=5.0)
    with db.transaction() as conn:
        for _ in range(100):
            sid = events_repo.create_subscription(
                conn,
                end_point=server.url,
                resource_filter="urn:altinn:resource:test-service",
                type_filter=None,
                subject_filter=None,
                consumer=f"urn:altinn:organization:identifier-no:{_owner()}",
                created_by="sender",
                secret=new_secret(),
            )
            conn.execute("UPDATE event_subscriptions SET status = 'active' WHERE id = %s", (sid,))
    queues = Queues(PREFIX)
    env = {"CORRESPONDENCE_QUEUE_PREFIX": PREFIX, "EVENTS_ALLOW_PRIVATE_ENDPOINTS": "true"}
    roles = [
        worker_process(database_url, celery_broker, tmp_path, queues=queues.general, **env),
        worker_process(database_url, celery_broker, tmp_path, queues=(queues.events,), **env),
        relay_process(database_url, celery_broker, tmp_path, **env),
        beat_process(database_url, celery_broker, tmp_path, **env),
    ]
    try:
        # Events for every subscriber first: each of the 100 gets deliveries that drip.
        ok(post(client, initialize_request([ORG_RECIPIENT]), sender))
        assert wait_until(lambda: server.connections >= 8, 30, 0.2), "the events worker never posted"
        publish_at = datetime.now(UTC) + timedelta(seconds=5)
        body = initialize_request([ORG_RECIPIENT], notification=FULL_NOTIFICATION)
        body["correspondence"]["requestedPublishTime"] = publish_at.isoformat()
        started = time.monotonic()
        [cid] = [c["correspondenceId"] for c in ok(post(client, body, sender))["correspondences"]]
        assert wait_until(lambda: len(orders_of(db, [cid])) == 2, 10, 0.1), "orders later than 10 s"
        orders_after = time.monotonic() - started
        assert wait_until(lambda: _published(db, cid), 15, 0.1), "published later than 15 s"
        published_after = time.monotonic() - started
    finally:
        stop(*roles)
        server.close()
        with db.transaction() as conn:
            conn.execute("UPDATE event_subscriptions SET deleted = now() WHERE end_point = %s", (server.url,))
    print(f"\norders {orders_after:.1f} s, published {published_after:.1f} s after Initialize (due at 5 s)")


def _owner() -> str:
    from tests.conftest import SENDER_ORG

    return SENDER_ORG


def _published(db, cid: str) -> bool:
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT 1 FROM correspondence_statuses WHERE correspondence_id = %s AND status_text = 'Published'",
            (cid,),
        ).fetchone()
    return row is not None
