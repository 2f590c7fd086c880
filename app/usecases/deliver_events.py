"""Events to subscribers, run by workers (beat-driven scans, SKIP LOCKED, never HTTP in a transaction).

1. `fan_out`: outbox rows (`correspondence_events`) not yet forwarded become one delivery row per
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.db.pool import Database
from app.db.repositories import events as repo
from app.domain.events import RESOURCE_PREFIX, cloud_event, matches
from app.events_settings import EventSettings
from app.usecases.lease import EVENT_DELIVERIES, Lease

log = logging.getLogger(__name__)

Post = Callable[..., Any]  # (url, secret, event, allow_private=, timeout=, connect_timeout=) -> PostResult


# Outbox rows taken per transaction, and of them at most EXPANDED become deliveries: a row of a
# resource nobody subscribes to is only marked forwarded (cheap, and nearly every row under load),
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
        subscriptions = repo.active_subscriptions(
            conn, {RESOURCE_PREFIX + r["resource_id"] for r in rows if r["resource_id"]}
        )
        if subscriptions:
            filters = {s.resource_filter for s in subscriptions}
            wanted = [
                i
                for i, r in enumerate(rows)
                if r["resource_id"] and RESOURCE_PREFIX + r["resource_id"] in filters
            ]
            if len(wanted) > expand_limit:
                # Forward in order up to the first row past this transaction's share; the rest stay
                # unforwarded (unlocked at commit) for the next round.
                rows, wanted, more = rows[: wanted[expand_limit]], wanted[:expand_limit], True
            pairs = matches(subscriptions, repo.expand(conn, [rows[i] for i in wanted]))
            repo.insert_deliveries(
                conn, [(sid, e.id, e.type, cloud_event(e, settings.base_url)) for sid, e in pairs]
            )
        repo.mark_forwarded(conn, [r["id"] for r in rows])
    return len(rows), more


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


def deliver_due(
    db: Database, post: Post, settings: EventSettings, pool: ThreadPoolExecutor | None = None
) -> DeliveryResult:
    """One round: claim, post (outside any transaction, the lease renewed meanwhile), record what is
    still held."""
    with db.transaction() as conn:
        lease = Lease(db.url, EVENT_DELIVERIES, settings.lease)  # its clock starts before the claim's now()
        claimed = repo.claim_deliveries(
            conn, settings.batch, settings.per_endpoint, lease.token, settings.lease.seconds
        )
    result = DeliveryResult()
    if not claimed:
        return result

    def one(delivery: dict[str, Any]) -> str:
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

    with lease.renewing(d["id"] for d in claimed):
        if pool is None or len(claimed) == 1:
            outcomes = [one(d) for d in claimed]
        else:
            outcomes = list(pool.map(one, claimed))
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
            return "delivered" if held else "released"
        error = outcome.error or "no answer"
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
    """Rounds until nothing is due or the time budget is spent (the next beat tick goes on)."""
    import time

    total = DeliveryResult()
    deadline = time.monotonic() + budget_seconds
    with ThreadPoolExecutor(max_workers=max(settings.concurrency, 1), thread_name_prefix="events") as pool:
        while time.monotonic() < deadline:
            fan_out_all(db, settings)
            result = deliver_due(db, post, settings, pool)
            total.delivered += result.delivered
            total.retried += result.retried
            total.failed += result.failed
            total.released += result.released
            if result.attempted == 0:
                break
    return total
