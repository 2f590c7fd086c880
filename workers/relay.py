"""The outbox relay: hands committed notification work to the broker, off the request thread.

Initialize writes outbox rows and `NOTIFY correspondence_outbox` in its transaction; this process
`LISTEN`s, and on each wake-up (after a short window, RELAY_BATCH_WINDOW_MS, 100 ms, in which more
commits join) publishes every undispatched row, 100 correspondences per message whatever Initialize
they came from: under load one message carries many Initializes, so workers pay the per-message
cost once for many. It also looks every `idle_seconds` without a wake-up, so a lost notification (relay
restarting, connection dropped) delays work by at most that, and as often re-sends unfinished rows
whose worker's lease passed (the worker died: a live one renews its lease). Several relays may run: rows are
taken with SKIP LOCKED. With the broker down it backs off and retries; the rows stay in the outbox
(and beat's sweep would re-send them too).

Run it as `correspondence relay` (the Procfile's `relay` role); `correspondence run` starts one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import DictRow, TupleRow, dict_row

from app.config import Settings
from app.db.pool import DatabaseUnavailable
from app.db.repositories.correspondences import OUTBOX_CHANNEL
from app.usecases.dispatch_notification_orders import Enqueue, dispatch_abandoned, dispatch_new, waiting

log = logging.getLogger(__name__)

BATCH = 1000
# How soon the relay looks again when new rows wait for an older transaction to end.
HELD_BACK_SECONDS = 0.02


class OutboxRelay:
    def __init__(
        self,
        database_url: str,
        enqueue: Enqueue,
        *,
        idle_seconds: float = 1.0,
        max_backoff_seconds: float = 5.0,
        batch_window_seconds: float = 0.0,
    ) -> None:
        self.database_url = database_url
        self.db = _OwnConnection(database_url)  # not the process's pool: the relay never waits for it
        self.enqueue = enqueue
        self.idle_seconds = idle_seconds
        self.max_backoff_seconds = max_backoff_seconds
        # After a wake-up, wait this long for more commits to join the same messages.
        self.batch_window_seconds = batch_window_seconds
        self.stop_event = threading.Event()
        self.sent = 0
        self.next_abandoned_check = 0.0
        self.held_back = False

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        """Listen and relay until stop() (or SIGTERM in the process role)."""
        backoff = 0.0
        while not self.stop_event.is_set():
            try:
                with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as listener:
                    listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
                    backoff = 0.0
                    self._loop(listener)
            except (psycopg.OperationalError, DatabaseUnavailable) as exc:
                backoff = min(max(backoff * 2, 0.2), self.max_backoff_seconds)
                log.warning("outbox relay: database unavailable (%s); retrying in %.1f s", exc, backoff)
                self.stop_event.wait(backoff)
        self.db.close()

    def _loop(self, listener: psycopg.Connection[TupleRow]) -> None:
        backoff = 0.0
        while not self.stop_event.is_set():
            try:
                self.drain()
                backoff = 0.0
            except DatabaseUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - broker down (whatever kombu raises): rows stay undispatched, the loop retries
                backoff = min(max(backoff * 2, 0.2), self.max_backoff_seconds)
                log.warning("outbox relay: broker unavailable (%s); retrying in %.1f s", exc, backoff)
                self._wait(listener, backoff)
                continue
            self._wait(listener, HELD_BACK_SECONDS if self.held_back else self.idle_seconds)
            # The batch window holds under load too: rows held back by a running transaction are
            # taken with the next batch (under steady load some transaction is always running; a
            # look every 20 ms without the window sent a message per few correspondences and
            # tripled the worker's and the relay's CPU per Initialize, bench/db_cost.py).
            if self.batch_window_seconds:
                self.stop_event.wait(self.batch_window_seconds)

    def _wait(self, listener: psycopg.Connection[TupleRow], seconds: float) -> None:
        """Until a notification arrives (then every queued one is consumed) or `seconds` pass."""
        deadline = time.monotonic() + seconds
        while not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            # Short slices, so that stop() is seen quickly.
            if any(True for _ in listener.notifies(timeout=min(remaining, 0.5), stop_after=1)):
                for _ in listener.notifies(timeout=0.0):
                    pass
                return

    def drain(self) -> int:
        total = 0
        while True:
            n = dispatch_new(self.db, self.enqueue, BATCH)
            total += n
            if n < BATCH:
                break
        # Rows committed after a transaction that is still running are taken once it ends.
        self.held_back = waiting(self.db)
        # Rows whose worker died (its lease passed): at most once per idle interval, as the lookup
        # reads every unfinished row.
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
        batch_window_seconds=settings.worker.relay_batch_window_ms / 1000,
    )
    signal.signal(signal.SIGTERM, lambda *_: relay.stop())
    signal.signal(signal.SIGINT, lambda *_: relay.stop())
    log.info("outbox relay listening on %s", OUTBOX_CHANNEL)
    relay.run()
    log.info("outbox relay stopped after sending %d correspondences", relay.sent)
