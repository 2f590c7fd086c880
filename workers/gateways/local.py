"""The local gateway: resolves contact points from the local register (DESIGN.md §6)."""

from __future__ import annotations

import time
import uuid

from app.domain.notification_orders import (
    MISSING_CONTACT,
    SUCCESS,
    Contact,
    NotificationOrder,
    OrderOutcome,
    resolve_addresses,
)
from workers.gateways.altinn import order_request


class LocalGateway:
    name = "local"

    def __init__(self, latency_ms: int = 0) -> None:
        # Optional simulated latency per order (load tests, crash tests); 0 in normal use.
        self.latency = latency_ms / 1000.0

    def create_order(self, order: NotificationOrder, contacts: dict[str, Contact]) -> OrderOutcome:
        if self.latency:
            time.sleep(self.latency)
        addresses = resolve_addresses(order, contacts)
        sent = order_request(order)  # what Altinn Notifications would have been sent
        if not addresses:
            return OrderOutcome(MISSING_CONTACT, notification_order_id=order.id, request=sent)
        return OrderOutcome(
            SUCCESS,
            addresses=addresses,
            notification_order_id=order.id,
            shipment_id=uuid.uuid5(order.id, "shipment"),
            request=sent,
        )
