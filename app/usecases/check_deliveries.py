"""Follow the orders of the altinn gateway until every address is final (issue 25; SPEC.md §5.6, as
Altinn's CheckNotificationDeliveryHandler does): read Notifications' shipment status and store it per
address. Run by a worker under the one lease rule (app/usecases/lease.py): lease the due orders and
commit; with the lease renewed and no transaction open, one GET per order; then per order a short
transaction that records what was read, only for an order still held.

Not final yet: looked at again after Altinn's backoff (60 s, 15 min, 4 h, … 72 h); after the last
check, or once `give_up_after` has passed since the order was created, the addresses that are not
final are Failed with the reason "unknown". An order whose every address is final gives its
delivery events (delivered, failed, all failed), as with the smtp gateway.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from app.config import LeaseTerms
from app.db.pool import Database
from app.db.repositories import deliveries as delivery_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.domain.deliveries import POLL_BACKOFF_SECONDS, UNKNOWN, next_check, parse_shipment
from app.domain.notification_orders import GatewayUnavailable
from app.usecases.lease import Lease, LeasedRows

log = logging.getLogger(__name__)

ORDER_CHECKS = LeasedRows("notification_orders", "id", "check_locked_until", "check_lease_owner")
NOT_FINAL_STATUS = {"Order_SendConditionNotMet": "SendConditionNotMet", "Order_Cancelled": "Cancelled"}


class ShipmentSource(Protocol):
    def shipment_status(self, shipment_id: uuid.UUID) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class CheckPolicy:
    batch: int = 100
    lease: LeaseTerms = field(default_factory=LeaseTerms)
    # The first look, after the order's send time (Altinn: 5 minutes).
    first_delay: timedelta = timedelta(minutes=5)
    backoff_seconds: tuple[float, ...] = POLL_BACKOFF_SECONDS
    give_up_after: timedelta = timedelta(days=10)


@dataclass
class CheckResult:
    final: int = 0
    waiting: int = 0
    gave_up: int = 0
    unavailable: int = 0
    released: int = 0


def check_deliveries(
    db: Database, source: ShipmentSource, *, policy: CheckPolicy = CheckPolicy()
) -> CheckResult:
    result = CheckResult()
    with db.transaction() as conn:
        lease = Lease(db.url, ORDER_CHECKS, policy.lease)  # its clock starts before the claim's now()
        orders = delivery_repo.claim_checks(
            conn, lease.token, policy.lease.seconds, policy.batch, policy.first_delay
        )
    if not orders:
        return result
    answers: dict[uuid.UUID, Any] = {}
    with lease.renewing(o["id"] for o in orders):
        for order in orders:
            if not lease.holds(order["id"]):
                continue
            try:
                answers[order["id"]] = parse_shipment(source.shipment_status(order["shipment_id"]) or {})
            except GatewayUnavailable as exc:
                log.warning("shipment %s: Notifications unavailable: %s", order["shipment_id"], exc)
                answers[order["id"]] = exc
        now = datetime.now(UTC)
        for order in orders:
            if order["id"] not in answers:
                result.released += 1
                continue
            with db.transaction() as conn:
                if not delivery_repo.check_held(conn, order["id"], lease.token):
                    result.released += 1
                    continue
                _record(conn, order, answers[order["id"]], policy, now, result)
            lease.release([order["id"]])
    return result


def _record(
    conn: Any, order: dict[str, Any], answer: Any, policy: CheckPolicy, now: datetime, result: CheckResult
) -> None:
    order_id = order["id"]
    shipment = None if isinstance(answer, GatewayUnavailable) else answer
    if shipment is not None:
        delivery_repo.record_reported(conn, order_id, order["correspondence_id"], shipment.recipients)
    if shipment is not None and shipment.final:
        done = NOT_FINAL_STATUS.get(shipment.order_status)
        if done is None:  # Order_Completed: every address has its outcome
            delivery_repo.fail_unfinished(conn, order_id, UNKNOWN)
        delivery_repo.end_check(
            conn, order_id, order_status=shipment.order_status, delivery_status=done, next_in=None
        )
        lifecycle_repo.add_events(conn, delivery_repo.finish_orders(conn, [order_id]))
        result.final += 1
        return
    if shipment is None:
        result.unavailable += 1
    wait = next_check(order["check_attempts"] + 1, policy.backoff_seconds)
    if wait is None or now - order["created"] >= policy.give_up_after:
        delivery_repo.fail_unfinished(conn, order_id, UNKNOWN)
        events = delivery_repo.finish_orders(conn, [order_id])
        delivery_repo.end_check(
            conn,
            order_id,
            order_status=shipment.order_status if shipment else None,
            delivery_status=None if events else "Unknown",
            next_in=None,
        )
        lifecycle_repo.add_events(conn, events)
        result.gave_up += 1
        return
    delivery_repo.end_check(
        conn,
        order_id,
        order_status=shipment.order_status if shipment else None,
        delivery_status=None,
        next_in=wait,
    )
    result.waiting += 1
