"""Create the notification orders of a batch of correspondences and record each order's outcome.

Run by a worker. Exactly once per order: outbox rows are claimed with SKIP LOCKED and a lease
(app/usecases/lease.py), order ids are deterministic and the insert ignores ids already recorded. A
gateway that is unavailable leaves the correspondence pending for a retry; after the last attempt its
orders are recorded as Failure.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.config import LeaseTerms
from app.db.pool import Database
from app.db.repositories import deliveries as delivery_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.db.repositories import notifications as notification_repo
from app.db.repositories import registry as registry_repo
from app.db.repositories import templates as template_repo
from app.domain import recipients as recipient_rules
from app.domain.deliveries import FINAL
from app.domain.events import notification_events
from app.domain.notification_orders import (
    FAILURE,
    Contact,
    CorrespondenceForOrders,
    GatewayUnavailable,
    NotificationGateway,
    NotificationOrder,
    OrderOutcome,
    build_orders,
    contact_urns,
    recorded_ids,
)
from app.usecases.lease import OUTBOX, Lease

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderPolicy:
    max_attempts: int = 5
    # A correspondence whose gateway was unavailable is tried again after an exponential backoff.
    retry_base: timedelta = timedelta(seconds=2)
    retry_max: timedelta = timedelta(seconds=300)
    # The lease on the rows a worker works on, renewed while it works: a killed worker's rows go to
    # the next one once its last renewal's lease passes (20 s).
    lease: LeaseTerms = field(default_factory=LeaseTerms)
    reminder_delay: timedelta = timedelta(days=1)
    base_url: str | None = None


@dataclass
class BatchResult:
    recorded: int = 0
    completed: list[uuid.UUID] = field(default_factory=list)
    retry: list[uuid.UUID] = field(default_factory=list)
    # Left to the next worker: the lease was in doubt (not renewed in time) or taken over.
    released: list[uuid.UUID] = field(default_factory=list)


def create_notification_orders(
    db: Database,
    gateway: NotificationGateway,
    ids: list[uuid.UUID],
    *,
    attempt: int = 0,
    policy: OrderPolicy = OrderPolicy(),
) -> BatchResult:
    """Three steps, so that no transaction is open while the gateway is called: lease the outbox
    rows and load what the orders need (commit), call the gateway per order while a heartbeat renews
    the lease, record the outcomes of the rows still held in one short transaction. Rows another
    worker holds are left to it (if it dies, the relay sends them again once its lease passes);
    order ids are deterministic, so nothing is recorded twice."""
    result = BatchResult()
    with db.transaction() as conn:
        lease = Lease(db.url, OUTBOX, policy.lease)  # its clock starts before the claim's now()
        claimed = notification_repo.claim_pending(conn, ids, lease.token, policy.lease.seconds)
        if not claimed:
            return result
        rows = notification_repo.load_for_orders(conn, list(claimed))
        templates = template_repo.get_templates(conn)
        wanted = {urn for r in rows for urn in contact_urns(r["recipient"], r["notification_request"] or {})}
        wanted |= {r["sender"] for r in rows}
        contacts = {
            urn: Contact(p.name, tuple(p.emails), tuple(p.mobiles), p.reserved)
            for urn, p in registry_repo.get_parties(conn, wanted).items()
        }
        now = datetime.now(UTC)
        planned = {row["id"]: _plan(row, contacts, templates, policy, now) for row in rows}
        # Only a row some worker held before can have orders recorded (the first claim, the usual
        # case, looks nothing up). By the orders' own ids (deterministic): a primary-key lookup
        # whatever the planner knows of the table (nothing, with autovacuum off: by correspondence
        # it read the whole table); their ids before 0022 too.
        existing = notification_repo.recorded_order_ids(
            conn,
            {
                candidate: order.id
                for cid, (_, orders) in planned.items()
                if not claimed[cid].first
                for order in orders
                for candidate in recorded_ids(order)
            },
        )

    recorded: list[tuple[NotificationOrder, OrderOutcome]] = []
    with lease.renewing(claimed):
        for row in rows:
            # The row's own count also covers attempts started by relay re-sends.
            last_attempt = max(attempt, claimed[row["id"]].attempts) + 1 >= policy.max_attempts
            pending = False
            template, orders = planned[row["id"]]
            for order, outcome in _outcomes(
                row["id"], template, orders, contacts, existing, gateway, last_attempt, lease
            ):
                if outcome is None:
                    pending = True
                else:
                    recorded.append((order, outcome))
            if not lease.holds(row["id"]) and pending:
                result.released.append(row["id"])
            else:
                (result.retry if pending else result.completed).append(row["id"])

    with db.transaction() as conn:
        mine = notification_repo.held_by(conn, list(claimed), lease.token)
        if len(mine) < len(claimed):  # their new holder records them
            log.warning(
                "%d outbox rows were taken over after this worker's lease passed", len(claimed) - len(mine)
            )
            result.released += [i for i in result.completed + result.retry if i not in mine]
            result.completed = [i for i in result.completed if i in mine]
            result.retry = [i for i in result.retry if i in mine]
        recorded = [(o, out) for o, out in recorded if o.correspondence_id in mine]
        inserted = notification_repo.insert_orders(conn, recorded, gateway.name)
        result.recorded = len(inserted)
        lifecycle_repo.add_events(
            conn,
            notification_events([(o, out) for o, out in recorded if o.id in inserted]),
        )
        _record_deliveries(conn, [(o, out) for o, out in recorded if o.id in inserted])
        notification_repo.mark_completed(conn, result.completed, lease.token)
        notification_repo.retry_later(
            conn,
            {i: backoff(claimed[i].attempts, policy.retry_base, policy.retry_max) for i in result.retry},
            lease.token,
        )
        notification_repo.release(conn, [i for i in result.released if i in mine], lease.token)
    return result


def _record_deliveries(conn: Any, recorded: list[tuple[NotificationOrder, OrderOutcome]]) -> None:
    """The addresses a sending gateway (smtp) sends to itself, New or already final; orders whose
    every address is final at once (SMS-only under smtp) are finished with their events."""
    planned = [(o.id, o.correspondence_id, d) for o, out in recorded for d in out.deliveries]
    if not planned:
        return
    delivery_repo.insert_planned(conn, planned)
    final = {order_id for order_id, _, d in planned if d.status in FINAL}
    lifecycle_repo.add_events(conn, delivery_repo.finish_orders(conn, final))


def backoff(attempts: int, base: timedelta, maximum: timedelta) -> timedelta:
    """Exponential backoff with "equal jitter": half fixed, half random, capped."""
    ceiling = min(maximum, base * (2**attempts))
    return ceiling / 2 + ceiling / 2 * random.random()


def _plan(
    row: dict[str, Any], contacts: dict[str, Contact], templates: dict, policy: OrderPolicy, now: datetime
) -> tuple[dict | None, list[NotificationOrder]]:
    """The template and the orders of one correspondence (pure: ids are deterministic)."""
    n = row["notification_request"] or {}
    corr = _correspondence(row, contacts)
    template = template_repo.pick_template(templates, n.get("notification_template") or 0, corr.language)
    orders = build_orders(
        corr,
        template or {},
        contacts,
        now=now,
        reminder_delay=policy.reminder_delay,
        base_url=policy.base_url,
    )
    return template, orders


def _outcomes(
    correspondence_id: uuid.UUID,
    template: dict | None,
    orders: list[NotificationOrder],
    contacts: dict[str, Contact],
    existing: set[uuid.UUID],
    gateway: NotificationGateway,
    last_attempt: bool,
    lease: Lease,
):
    """(order, outcome) per order not yet recorded; outcome None = try again later (or, when the
    lease on the row is in doubt, leave it to the next worker: no gateway call then)."""
    for order in orders:
        if order.id in existing:
            continue
        if template is None:
            yield order, OrderOutcome(FAILURE, reason="notification template not found")
            continue
        if not lease.holds(correspondence_id):
            yield order, None
            continue
        try:
            yield order, gateway.create_order(order, contacts)
        except GatewayUnavailable as exc:
            log.warning("gateway %s unavailable for order %s: %s", gateway.name, order.id, exc)
            yield (
                order,
                (OrderOutcome(FAILURE, reason=f"gateway unavailable: {exc}") if last_attempt else None),
            )
        except Exception as exc:  # a gateway bug must end the order, not loop forever
            log.exception("gateway %s failed for order %s", gateway.name, order.id)
            yield order, OrderOutcome(FAILURE, reason=f"gateway error: {type(exc).__name__}")


def _correspondence(row: dict[str, Any], contacts: dict[str, Contact]) -> CorrespondenceForOrders:
    recipient = row["recipient"]
    sender = contacts.get(row["sender"])
    title = row["resource_title"] or {}
    language = (row["language"] or "nb").lower()
    return CorrespondenceForOrders(
        id=row["id"],
        recipient=recipient,
        resource_id=row["resource_id"],
        senders_reference=row["senders_reference"],
        requested_publish_time=row["requested_publish_time"],
        ignore_reservation=row["ignore_reservation"],
        message_title=row["message_title"],
        language=language,
        notification=row["notification_request"] or {},
        senders_name=row["message_sender"]
        or (sender.name if sender else None)
        or row["service_owner_name"]
        or recipient_rules.identifier(row["sender"]),
        recipient_name=contacts[recipient].name
        if recipient in contacts
        else recipient_rules.identifier(recipient),
        resource_name=title.get(language) or row["resource_id"],
    )
