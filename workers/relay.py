"""The outbox relay: hands committed notification work to the broker, off the request thread.

Initialize writes outbox rows in its transaction; this process looks for rows past its cursor every
RELAY_BATCH_WINDOW_MS (100 ms) and publishes all it finds, 100 correspondences per message whatever
Initialize they came from: under load one message carries many Initializes, so workers pay the
per-message cost once for many. It polls rather than LISTENs: a NOTIFY in every Initialize took
PostgreSQL's global notification lock until the commit was flushed, so concurrent Initializes
committed one at a time, and woke the relay's backend once per commit (bench/service.py: 0.49 of the
bare endpoint's requests per second with it, 0.52 without). A look finds nothing in one index probe.
Every `idle_seconds` it also re-sends unfinished rows whose worker's lease passed (the worker died:
a live one renews its lease). Several relays may run: the cursor is taken with SKIP LOCKED. With the
broker down it backs off and retries; the rows stay in the outbox (and beat's sweep would re-send
them too).

Run it as `correspondence relay` (the Procfile's `relay` role); `correspondence run` starts one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import DictRow, dict_row

from app.config import Settings
from app.db.pool import DatabaseUnavailable
from app.usecases.dispatch_notification_orders import Enqueue, dispatch_abandoned, dispatch_new

log = logging.getLogger(__name__)

BATCH = 1000


class OutboxRelay:
    def __init__(
        self,
        database_url: str,
        enqueue: Enqueue,
        *,
        idle_seconds: float = 1.0,
        max_backoff_seconds: float = 5.0,
        poll_seconds: float = 0.1,
    ) -> None:
        self.database_url = database_url
        self.db = _OwnConnection(database_url)  # not the process's pool: the relay never waits for it
        self.enqueue = enqueue
        # How often it looks for rows whose worker died (the lookup reads every unfinished row).
        self.idle_seconds = idle_seconds
        self.max_backoff_seconds = max_backoff_seconds
        # How often it looks for new rows: the commits of one interval share its messages.
        self.poll_seconds = poll_seconds
        self.stop_event = threading.Event()
        self.sent = 0
        self.next_abandoned_check = 0.0

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        """Look and relay until stop() (or SIGTERM in the process role)."""
        backoff = 0.0
        while not self.stop_event.is_set():
            try:
                self.drain()
                backoff = 0.0
            except Exception as exc:  # noqa: BLE001 - database or broker down (whatever kombu raises): rows stay undispatched, the loop retries
                what = "database" if isinstance(exc, DatabaseUnavailable) else "broker"
                backoff = min(max(backoff * 2, 0.2), self.max_backoff_seconds)
                log.warning("outbox relay: %s unavailable (%s); retrying in %.1f s", what, exc, backoff)
                self.stop_event.wait(backoff)
                continue
            # Rows that a still running transaction holds back (committed after it began) are taken
            # by a later look; looking more often than the interval under load only made smaller
            # messages (bench/db_cost.py: three times the worker's and the relay's CPU).
            self.stop_event.wait(self.poll_seconds)
        self.db.close()

    def drain(self) -> int:
        total = 0
        while True:
            n = dispatch_new(self.db, self.enqueue, BATCH)
            total += n
            if n < BATCH:
                break
        if time.monotonic() >= self.next_abandoned_check:
            self.next_abandoned_check = time.monotonic() + self.idle_seconds
            total += dispatch_abandoned(self.db, self.enqueue, BATCH)
        if total:
            self.sent += total
            log.debug("outbox relay sent %d correspondences", total)
        return total


class _OwnConnection:
    """`Database.transaction()` on one connection of the relay's own, reopened when it breaks."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: psycopg.Connection[DictRow] | None = None

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[DictRow]]:
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(
                    self.url, autocommit=True, row_factory=dict_row, connect_timeout=5
                )
            with self.conn.transaction():
                yield self.conn
        except psycopg.OperationalError as exc:
            if self.conn is not None:
                self.conn.close()
            raise DatabaseUnavailable(str(exc)) from exc

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def start_in_thread(
    database_url: str, enqueue: Enqueue, **kwargs: float
) -> tuple[OutboxRelay, threading.Thread]:
    """A relay in a daemon thread (tests, single-process setups)."""
    relay = OutboxRelay(database_url, enqueue, **kwargs)
    thread = threading.Thread(target=relay.run, name="outbox-relay", daemon=True)
    thread.start()
    return relay, thread


def main(settings: Settings, database_url: str) -> None:
    """The `relay` role: publishes through a Celery app built from `settings`."""
    import signal

    from workers.celery_app import create_celery
    from workers.dispatch import order_creation_enqueuer

    relay = OutboxRelay(
        database_url,
        order_creation_enqueuer(create_celery(settings)),
        idle_seconds=settings.worker.relay_idle_seconds,
        poll_seconds=settings.worker.relay_batch_window_ms / 1000,
    )
    signal.signal(signal.SIGTERM, lambda *_: relay.stop())
    signal.signal(signal.SIGINT, lambda *_: relay.stop())
    log.info("outbox relay looking for new rows every %.0f ms", relay.poll_seconds * 1000)
    relay.run()
    log.info("outbox relay stopped after sending %d correspondences", relay.sent)
