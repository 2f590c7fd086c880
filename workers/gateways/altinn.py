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

from app.domain.enums import EmailContentType
from app.domain.enums import NotificationChannel as Ch
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
SHIPMENT_PATH = "/notifications/api/v1/future/shipment/"
COMPOSED_EMAIL_PATH = "/notifications/api/v1/future/orders/composed-email"


class AltinnNotificationsGateway:
    name = "altinn"

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + ORDERS_PATH
        self.token = token
        self.timeout = timeout

    def create_order(self, order: NotificationOrder, contacts: dict[str, Contact]) -> OrderOutcome:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        sent = order_request(order)
        request = urllib.request.Request(
            self.url, data=json.dumps(sent).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = _json(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code in (408, 429):
                raise GatewayUnavailable(f"HTTP {exc.code}") from exc
            return OrderOutcome(FAILURE, reason=f"HTTP {exc.code}: {_text(exc.read())}", request=sent)
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise GatewayUnavailable(str(exc)) from exc
        return _outcome(body, sent)

    def create_composed_email(self, request: dict[str, Any]) -> uuid.UUID:
        """Order one composed e-mail (a forwarding); its shipment id. Raises GatewayUnavailable when
        Notifications does not take it (any answer but 2xx with a shipment id)."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        http = urllib.request.Request(
            self.base_url + COMPOSED_EMAIL_PATH,
            data=json.dumps(request).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(http, timeout=self.timeout) as response:
                body = _json(response.read(1024 * 1024))
        except urllib.error.HTTPError as exc:
            raise GatewayUnavailable(f"HTTP {exc.code}: {_text(exc.read())}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise GatewayUnavailable(str(exc)) from exc
        shipment = _uuid((body.get("notification") or {}).get("shipmentId"))
        if shipment is None:
            raise GatewayUnavailable("the answer has no shipment id")
        return shipment

    def shipment_status(self, shipment_id: uuid.UUID) -> dict[str, Any] | None:
        """Notifications' status of one shipment (`GET …/future/shipment/{id}`); None while it is not
        known there yet (404). Raises GatewayUnavailable for anything else that is not 2xx."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(f"{self.base_url}{SHIPMENT_PATH}{shipment_id}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return _json(response.read(1024 * 1024))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise GatewayUnavailable(f"HTTP {exc.code}: {_text(exc.read())}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise GatewayUnavailable(str(exc)) from exc


def order_request(order: NotificationOrder) -> dict[str, Any]:
    """The Altinn Notifications v2 "future order" JSON for one order (SPEC.md §5.4)."""
    settings: dict[str, Any] = {}
    if order.email_subject and order.email_body:
        settings["emailSettings"] = {
            "subject": order.email_subject,
            "body": order.email_body,
            "contentType": EmailContentType(order.email_content_type).name,
        }
    if order.sms_body:
        settings["smsSettings"] = {"body": order.sms_body}
    resource = f"urn:altinn:resource:{order.resource_id}"
    plan = order.plan
    recipient: dict[str, Any]
    if plan.kind == "organization":
        recipient = {
            "recipientOrganization": {
                "orgNumber": plan.value,
                "resourceId": resource,
                "channelSchema": Ch(order.channel).name,
                **settings,
            }
        }
    elif plan.kind == "person":
        person = {
            "nationalIdentityNumber": plan.value,
            "resourceId": resource,
            "channelSchema": Ch(order.channel).name,
            **settings,
        }
        if order.ignore_reservation is not None:
            person["ignoreReservation"] = order.ignore_reservation
        recipient = {"recipientPerson": person}
    elif plan.kind == "external":
        recipient = {
            "recipientExternalIdentity": {
                "externalIdentity": plan.value,
                "resourceId": resource,
                "channelSchema": Ch(order.channel).name,
                **settings,
            }
        }
    elif plan.kind == "email":
        recipient = {"recipientEmail": {"emailAddress": plan.value, **settings}}
    else:
        recipient = {"recipientSms": {"phoneNumber": plan.value, **settings}}
    return {
        "sendersReference": f"corr-{order.senders_reference}",
        "requestedSendTime": order.requested_send_time.isoformat(),
        "conditionEndpoint": order.condition_endpoint,
        "dialogportenAssociation": None,
        "idempotencyId": str(order.id),
        "recipient": recipient,
    }


def _outcome(body: dict[str, Any], sent: dict[str, Any]) -> OrderOutcome:
    order_id = _uuid(body.get("notificationOrderId") or body.get("orderId"))
    shipment = _uuid((body.get("notification") or {}).get("shipmentId"))
    lookup = (body.get("recipientLookup") or {}).get("status")
    addresses = tuple(str(a) for a in body.get("addresses") or [])
    status = MISSING_CONTACT if lookup == "Failed" else SUCCESS
    return OrderOutcome(
        status, addresses=addresses, notification_order_id=order_id, shipment_id=shipment, request=sent
    )


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
