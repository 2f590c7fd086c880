"""Events to subscribers, run by workers (beat-driven scans, SKIP LOCKED, never HTTP in a transaction).

1. `fan_out`: outbox rows (`correspondence_events`) past the fan-out's cursor become one delivery row per
   (active matching subscription, CloudEvent), in one transaction; an Initialize's single row becomes
   one CloudEvent per correspondence here. The unique (subscription, event) makes a repeat harmless.
2. `deliver_due`: claims due deliveries (a lease, at most EVENTS_MAX_IN_FLIGHT_PER_ENDPOINT per
   subscription), commits, POSTs them concurrently with timeouts, then records each outcome in its own
   short transaction: 2xx → delivered (never sent again); otherwise the next attempt after an
   exponential, jittered delay, or failed once the event is older than the give-up age (~24 h).
   The lease is renewed while the posts go on (app/usecases/lease.py: 20 s, renewed every 5 s); a
   worker killed mid-post leaves its leased rows to the next scan once its last lease passes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.db.pool import Database
from app.db.repositories import events as repo
from app.db.repositories import registry as registry_repo
from app.domain.access import caller_for_party
from app.domain.events import RESOURCE_PREFIX, cloud_event, matches
from app.events_settings import EventSettings
from app.security.identity import ORG_URN
from app.usecases.authorization import may_act_for
from app.usecases.lease import EVENT_DELIVERIES, Lease

log = logging.getLogger(__name__)

Post = Callable[..., Any]  # (url, secret, event, allow_private=, timeout=, connect_timeout=) -> PostResult


# Outbox rows taken per transaction, and of them at most EXPANDED become deliveries: a row of a
# resource nobody subscribes to is only passed by the cursor (cheap, and nearly every row under load),
# while an Initialize's row becomes one CloudEvent per correspondence (up to 500) per subscription.
PAGE = 1000
EXPANDED = 50


def fan_out(
    db: Database, settings: EventSettings, limit: int = PAGE, expand_limit: int = EXPANDED
) -> tuple[int, bool]:
    """One bounded transaction; returns the outbox rows forwarded and whether more may be waiting."""
    with db.transaction() as conn:
        rows = repo.take_outbox(conn, limit)
        if not rows:
            return 0, False
        more = len(rows) == limit
        live = repo.live_subscriptions(
            conn, {RESOURCE_PREFIX + r["resource_id"] for r in rows if r["resource_id"]}
        )
        if live:
            filters = {s.resource_filter for s, _, _ in live}
            wanted = [
                i
                for i, r in enumerate(rows)
                if r["resource_id"] and RESOURCE_PREFIX + r["resource_id"] in filters
            ]
            if len(wanted) > expand_limit:
                # Forward in order up to the first row past this transaction's share; the rest stay
                # past the cursor for the next round.
                rows, wanted, more = rows[: wanted[expand_limit]], wanted[:expand_limit], True
            pairs = matches([s for s, _, _ in live], repo.expand(conn, [rows[i] for i in wanted]))
            visible = _Visibility(conn, {s.id: (consumer, made_by) for s, consumer, made_by in live})
            repo.insert_deliveries(
                conn,
                [
                    (sid, e.id, e.type, cloud_event(e, settings.base_url))
                    for sid, e in pairs
                    if visible.may_see(sid, e.resource_id, e.subject)
                ],
            )
        repo.forwarded_through(conn, rows[-1])
    return len(rows), more


class _Visibility:
    """Checks again, at fan-out, that a subscriber may still see an event: a sender's subscription
    while its organization owns the resource; a recipient's while it may act for the subject (itself,
    or an organization it has access for: the authorization seam)."""

    def __init__(self, conn: Any, subscribers: dict[int, tuple[str, str]]) -> None:
        self._conn = conn
        self._subscribers = subscribers
        self._owners: dict[str, str | None] = {}
        self._acts_for: dict[tuple[str, str, str], bool] = {}

    def may_see(self, subscription_id: int, resource_id: str, subject: str | None) -> bool:
        consumer, made_by = self._subscribers[subscription_id]
        if made_by == "sender":
            if resource_id not in self._owners:
                resource = registry_repo.get_resource(self._conn, resource_id)
                self._owners[resource_id] = ORG_URN + resource.owner_org_number if resource else None
            return self._owners[resource_id] == consumer
        if subject is None:
            return False
        key = (consumer, subject, resource_id)
        if key not in self._acts_for:
            caller = caller_for_party(consumer)
            self._acts_for[key] = caller is not None and may_act_for(self._conn, caller, subject, resource_id)
        return self._acts_for[key]


def fan_out_all(
    db: Database, settings: EventSettings, limit: int = PAGE, expand_limit: int = EXPANDED
) -> int:
    total = 0
    while True:
        n, more = fan_out(db, settings, limit, expand_limit)
        total += n
        if not more:
            return total


@dataclass
class DeliveryResult:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    # Not posted, or not recorded, because the lease was in doubt or taken over: for the next scan.
    released: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retried + self.failed


class _Claim:
    """One claim of due deliveries under one lease, renewed until the last of them is recorded."""

    def __init__(self, db: Database, settings: EventSettings, limit: int, *, probes: bool) -> None:
        with db.transaction() as conn:
            repo.give_up_old(conn, settings.retry.give_up_after.total_seconds())
        with db.transaction() as conn:
            self.lease = Lease(
                db.url, EVENT_DELIVERIES, settings.lease
            )  # clock starts before the claim's now()
            if probes:  # one delivery of each failing subscription whose probe time has come
                self.deliveries = repo.claim_deliveries(
                    conn, limit, 1, self.lease.token, settings.lease.seconds, failing=True
                )
            else:
                self.deliveries = repo.claim_deliveries(
                    conn, limit, settings.per_endpoint, self.lease.token, settings.lease.seconds
                )
        self._left = len(self.deliveries)
        self._heartbeat = ExitStack()
        if self.deliveries:
            self._heartbeat.enter_context(self.lease.renewing(d["id"] for d in self.deliveries))

    def finished_one(self) -> None:
        self._left -= 1
        if self._left == 0:
            self.close()

    def close(self) -> None:
        """Stop renewing the lease (every delivery of the claim is recorded or handed back)."""
        self._heartbeat.close()


def _deliver_one(
    db: Database, post: Post, settings: EventSettings, delivery: dict[str, Any], lease: Lease
) -> str:
    """Post one claimed delivery (outside any transaction) if its lease is surely held; record it."""
    if not lease.holds(delivery["id"]):
        lease.release([delivery["id"]])
        with db.transaction() as conn:
            repo.release_deliveries(conn, [delivery["id"]], lease.token)
        return "released"
    outcome = post(
        delivery["end_point"],
        settings.secrets.open(delivery["secret"]),  # stored encrypted (app/webhook_secrets.py)
        delivery["payload"],
        allow_private=settings.allow_private_endpoints,
        timeout=settings.timeout,
        connect_timeout=settings.connect_timeout,
    )
    lease.release([delivery["id"]])  # recording ends the lease; no renewal may wait for it
    return _record(db, settings, delivery, outcome, lease)


def deliver_due(
    db: Database,
    post: Post,
    settings: EventSettings,
    pool: ThreadPoolExecutor | None = None,
    *,
    probes: bool = False,
) -> DeliveryResult:
    """One round, all of it waited for: give up what is too old, claim (`probes`: one delivery of each
    failing subscription whose time has come; else the healthy subscriptions' due deliveries), post
    outside any transaction with the lease renewed meanwhile, record what is still held."""
    claim = _Claim(db, settings, settings.probes if probes else settings.batch, probes=probes)
    result = DeliveryResult()
    if not claim.deliveries:
        return result
    try:

        def one(delivery: dict[str, Any]) -> str:
            return _deliver_one(db, post, settings, delivery, claim.lease)

        if pool is None or len(claim.deliveries) == 1:
            outcomes = [one(d) for d in claim.deliveries]
        else:
            outcomes = list(pool.map(one, claim.deliveries))
    finally:
        claim.close()
    for outcome in outcomes:
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def _record(
    db: Database, settings: EventSettings, delivery: dict[str, Any], outcome: Any, lease: Lease
) -> str:
    now = datetime.now(UTC)
    with db.transaction() as conn:
        if outcome.ok:
            held = repo.record_delivered(conn, delivery["id"], outcome.status, lease.token)
            if held and delivery.get("subscription_failures"):
                repo.subscription_succeeded(conn, delivery["subscription_id"])
            return "delivered" if held else "released"
        error = outcome.error or "no answer"
        failures = int(delivery.get("subscription_failures") or 0) + 1
        repo.subscription_failed(
            conn, delivery["subscription_id"], now + timedelta(seconds=settings.retry.next_delay(failures))
        )
        if settings.retry.gives_up(delivery["created"], now):
            if not repo.record_failed(conn, delivery["id"], outcome.status, error, lease.token):
                return "released"
            log.warning(
                "event %s to subscription %s failed for good: %s",
                delivery["event_id"],
                delivery["subscription_id"],
                error,
            )
            return "failed"
        delay = settings.retry.next_delay(delivery["attempts"])
        held = repo.record_retry(
            conn, delivery["id"], now + timedelta(seconds=delay), outcome.status, error, lease.token
        )
        return "retried" if held else "released"


def deliver_all(
    db: Database, post: Post, settings: EventSettings, *, budget_seconds: float = 30.0
) -> DeliveryResult:
    """Posts due deliveries until nothing is due or the time budget is spent (the next beat tick goes
    on), as a pipeline (`_Pipeline`): a subscriber that answers slowly holds one thread until its
    deadline, never the others' deliveries."""
    import time

    pipeline = _Pipeline(db, post, settings)
    deadline = time.monotonic() + budget_seconds
    with ThreadPoolExecutor(max_workers=pipeline.threads, thread_name_prefix="events") as pool:
        while True:
            open_ = time.monotonic() < deadline
            claimed = pipeline.claim() if open_ else 0
            if open_:
                pipeline.start(pool)
            if not pipeline.running:
                pipeline.release_waiting()  # past the deadline: what was claimed and not posted
                return pipeline.total
            pipeline.collect(timeout=0.05 if claimed else 0.2)


class _Pipeline:
    """Each turn claims as many due deliveries as threads are free and posts them, one delivery a
    thread, so that a slow answer holds one thread and the others go on:
    - a subscription proven in this task (a 2xx) gets up to EVENTS_MAX_IN_FLIGHT_PER_ENDPOINT threads;
      one not yet proven gets one, and all unproven ones together at most half of the threads (a
      healthy subscriber always finds a thread while unknown ones are tried);
    - a subscription that failed in this task gets no more posts here: its waiting deliveries go back
      (the subscription is probed from now on);
    - failing subscriptions are probed on threads of their own (EVENTS_PROBES_PER_ROUND), one
      delivery each at a time, once their probe time has come."""

    def __init__(self, db: Database, post: Post, settings: EventSettings) -> None:
        self.db, self.post, self.settings = db, post, settings
        self.slots = max(settings.concurrency, 1)
        self.probe_slots = max(settings.probes, 1)
        self.threads = self.slots + self.probe_slots
        self.total = DeliveryResult()
        self.waiting: dict[bool, list[tuple[_Claim, dict[str, Any]]]] = {False: [], True: []}
        self.running: dict[Future[str], tuple[_Claim, bool, int]] = {}
        self.in_flight: dict[int, int] = {}
        self.proven: set[int] = set()
        self.failed: set[int] = set()

    def claim(self) -> int:
        """Claim as many due deliveries as there are free threads (what then does not fit goes back)."""
        fan_out_all(self.db, self.settings)
        claimed = 0
        for probes, room in ((False, self.slots), (True, self.probe_slots)):
            free = room - sum(1 for _, p, _ in self.running.values() if p == probes)
            if free > 0 and not self.waiting[probes]:
                claim = _Claim(self.db, self.settings, min(free, self.settings.batch), probes=probes)
                self.waiting[probes].extend((claim, d) for d in claim.deliveries)
                claimed += len(claim.deliveries)
        return claimed

    def start(self, pool: ThreadPoolExecutor) -> None:
        for probes, room in ((False, self.slots), (True, self.probe_slots)):
            busy = sum(1 for _, p, _ in self.running.values() if p == probes)
            unproven = sum(
                n for sid, n in self.in_flight.items() if n and sid not in self.proven and not probes
            )
            kept: list[tuple[_Claim, dict[str, Any]]] = []
            for claim, delivery in self.waiting[probes]:
                sid = delivery["subscription_id"]
                if not probes and sid in self.failed:
                    self._release(claim, delivery)
                    continue
                fits = busy < room and (
                    probes
                    or sid in self.proven
                    or (self.in_flight.get(sid, 0) == 0 and unproven < max(self.slots // 2, 1))
                )
                if not fits:
                    kept.append((claim, delivery))
                    continue
                future = pool.submit(_deliver_one, self.db, self.post, self.settings, delivery, claim.lease)
                self.running[future] = (claim, probes, sid)
                self.in_flight[sid] = self.in_flight.get(sid, 0) + 1
                busy += 1
                unproven += 0 if probes or sid in self.proven else 1
            self.waiting[probes] = []
            for claim, delivery in kept:  # back at once: the next claim may find better ones to post
                self._release(claim, delivery)

    def collect(self, timeout: float) -> None:
        done, _ = wait(self.running, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            claim, _, sid = self.running.pop(future)
            claim.finished_one()
            self.in_flight[sid] -= 1
            outcome = future.result()
            setattr(self.total, outcome, getattr(self.total, outcome) + 1)
            if outcome == "delivered":
                self.proven.add(sid)
                self.failed.discard(sid)
            elif outcome in ("retried", "failed"):
                self.failed.add(sid)
                self.proven.discard(sid)

    def release_waiting(self) -> None:
        for probes in (False, True):
            for claim, delivery in self.waiting[probes]:
                self._release(claim, delivery)
            self.waiting[probes] = []

    def _release(self, claim: _Claim, delivery: dict[str, Any]) -> None:
        claim.lease.release([delivery["id"]])
        with self.db.transaction() as conn:
            repo.release_deliveries(conn, [delivery["id"]], claim.lease.token)
        claim.finished_one()
