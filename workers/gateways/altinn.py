"""Altinn Notifications v2 compatible HTTP gateway (`POST /notifications/api/v1/future/orders`).

Answer mapping: 2xx → Success, or MissingContact when the answer's recipient lookup says `Failed`
(SPEC.md §5.7); 4xx (bad order, 422) → Failure at once; 5xx, 429, timeouts, refused connections →
GatewayUnavailable (retried by the caller, Failure after the last attempt).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

from app.domain.notification_orders import (
    FAILURE,
    MISSING_CONTACT,
    SUCCESS,
    Contact,
    GatewayUnavailable,
    NotificationOrder,
    OrderOutcome,
)

ORDERS_PATH = "/notifications/api/v1/future/orders"


class AltinnNotificationsGateway:
    name = "altinn"

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + ORDERS_PATH
        self.token = token
        self.timeout = timeout

    def create_order(self, order: NotificationOrder, contacts: dict[str, Contact]) -> OrderOutcome:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.url, data=json.dumps(order.request).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = _json(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code in (408, 429):
                raise GatewayUnavailable(f"HTTP {exc.code}") from exc
            return OrderOutcome(FAILURE, reason=f"HTTP {exc.code}: {_text(exc.read())}")
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise GatewayUnavailable(str(exc)) from exc
        return _outcome(body)


def _outcome(body: dict[str, Any]) -> OrderOutcome:
    order_id = _uuid(body.get("notificationOrderId") or body.get("orderId"))
    shipment = _uuid((body.get("notification") or {}).get("shipmentId"))
    lookup = (body.get("recipientLookup") or {}).get("status")
    addresses = tuple(str(a) for a in body.get("addresses") or [])
    status = MISSING_CONTACT if lookup == "Failed" else SUCCESS
    return OrderOutcome(status, addresses=addresses, notification_order_id=order_id, shipment_id=shipment)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(raw: bytes) -> str:
    return raw[:300].decode("utf-8", "replace")


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
