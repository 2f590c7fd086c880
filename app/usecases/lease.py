"""Leases: how a worker holds the rows it works on while no transaction is open (issue 28).

One rule for every leased work (notification order creation, event deliveries):

- A row is held while its lease end (`until`) is in the future; `owner` is its holder's token (one
  per claim). A claim takes only rows whose lease has passed or that have none (the claim queries,
  with SKIP LOCKED, are in the repositories) and writes its own token.
- The holder renews its rows every `renew_seconds` to `seconds` ahead (LeaseTerms: 5 s, 20 s) from a
  heartbeat thread of the task, on a short connection of its own (never the process's pool: a busy
  pool must not starve the heartbeat) and only WHERE the owner is still its token; a row taken over
  after its lease passed is not renewed and is reported lost.
- The holder calls out (gateway, webhook) for a row only while it surely holds it, with at least
  `LeaseTerms.margin` (10 s) of the lease left, and records outcomes only for rows whose owner is
  still its token (their new holder records the others).
- A worker that dies stops renewing: its rows are free at most `seconds` after it died, and are
  worked again then (the relay re-sends outbox rows whose lease passed; the events scan takes
  deliveries whose lease passed). A crash costs the lease, 20 s, not a task's time limit.

The heartbeat is a thread of the process that runs the task: a prefork pool process (the worker's
pool, `correspondence run` and the Procfile), the solo pool of the tests, or the calling thread's
process when a use case is called directly.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from app.config import LeaseTerms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeasedRows:
    """Where a kind of work keeps its leases: the table, its key, the lease end and the owner column."""

    table: str
    key: str
    until: str
    owner: str = "lease_owner"

    def renew_statement(self) -> sql.Composed:
        """Renew the lease of the given keys that are still held by the token (and not released by
        recording an outcome, which clears `until`); returns the keys renewed."""
        return sql.SQL(
            "UPDATE {table} SET {until} = now() + make_interval(secs => %(seconds)s) "
            "WHERE {key} = ANY(%(keys)s) AND {owner} = %(token)s AND {until} IS NOT NULL RETURNING {key}"
        ).format(
            table=sql.Identifier(self.table),
            until=sql.Identifier(self.until),
            key=sql.Identifier(self.key),
            owner=sql.Identifier(self.owner),
        )


# Every leased work: order creation holds the outbox row of each correspondence of its message, event
# delivery the delivery rows it posts.
OUTBOX = LeasedRows("notification_outbox", "correspondence_id", "claimed_until")
EVENT_DELIVERIES = LeasedRows("event_deliveries", "id", "locked_until")


class Lease:
    """The rows one claim holds, under one token. Create it before the claim (its clock starts then:
    the database's lease ends no sooner), claim with `token` and `terms.seconds`, then work inside
    `renewing(keys)`, asking `holds(key)` before each call out."""

    def __init__(self, database_url: str, rows: LeasedRows, terms: LeaseTerms) -> None:
        self.database_url = database_url
        self.rows = rows
        self.terms = terms
        self.token = uuid.uuid4()
        self.renewals = 0
        self._lock = threading.Lock()
        self._held: set[Hashable] = set()
        self._lost: set[Hashable] = set()
        self._sure_until = time.monotonic() + terms.seconds
        self._stop = threading.Event()

    @contextmanager
    def renewing(self, keys: Iterable[Hashable]) -> Iterator[Lease]:
        """Renew the lease of `keys` every `renew_seconds` until the block ends (the heartbeat)."""
        with self._lock:
            self._held = set(keys)
        self._stop.clear()
        thread = threading.Thread(target=self._beat, name=f"lease-{self.rows.table}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(self.terms.renew_seconds + self._timeout)

    def holds(self, key: Hashable) -> bool:
        """Whether a call out for `key` may start: held, not lost, and enough of the lease surely left."""
        with self._lock:
            if key not in self._held or key in self._lost:
                return False
            return self._sure_until - time.monotonic() > self.terms.margin

    def release(self, keys: Iterable[Hashable]) -> None:
        """Stop renewing `keys` (their outcome is recorded, or they are left to the next worker)."""
        with self._lock:
            self._held.difference_update(keys)

    @property
    def lost(self) -> set[Hashable]:
        """Keys another worker took over after this lease passed (never renewed again)."""
        with self._lock:
            return set(self._lost)

    @property
    def _timeout(self) -> float:
        return max(1.0, self.terms.renew_seconds)

    def _beat(self) -> None:
        while not self._stop.wait(self.terms.renew_seconds):
            self.renew()

    def renew(self) -> None:
        """One renewal (the heartbeat's; public for tests). A failure is logged: the lease runs on
        until the next renewal, and `holds` turns false once too little of it is surely left."""
        with self._lock:
            keys = list(self._held - self._lost)
        if not keys:
            return
        started = time.monotonic()
        try:
            with psycopg.connect(
                self.database_url,
                autocommit=True,
                connect_timeout=int(self._timeout),
                options=f"-c statement_timeout={int(self._timeout * 1000)}",
            ) as conn:
                renewed = {
                    row[0]
                    for row in conn.execute(
                        self.rows.renew_statement(),
                        {"seconds": self.terms.seconds, "keys": keys, "token": self.token},
                    )
                }
        except psycopg.Error as exc:
            log.warning("could not renew the lease on %d %s rows: %s", len(keys), self.rows.table, exc)
            return
        with self._lock:
            self.renewals += 1
            self._sure_until = started + self.terms.seconds
            # Released meanwhile (recorded: `until` cleared) is not lost.
            lost = {k for k in keys if k not in renewed and k in self._held}
            if lost:
                self._lost |= lost
        if lost:
            log.warning("%d %s rows were taken over after their lease passed", len(lost), self.rows.table)
