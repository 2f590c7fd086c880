"""The altinn gateway's orders are followed until every address is final: Notifications' shipment
status (GET …/future/shipment/{id}) read with a backoff, stored per address, given up after an age."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app.config import LeaseTerms
from app.usecases.check_deliveries import CheckPolicy, check_deliveries
from app.usecases.create_notification_orders import OrderPolicy, create_notification_orders
from tests.api.helpers import details, ok, post, relayed
from tests.factories import initialize_request
from tests.notifications.helpers import NOTIFICATION, deliveries_of, org_with_email, publish
from workers.gateways.altinn import AltinnNotificationsGateway

POLICY = CheckPolicy(
    first_delay=timedelta(0), backoff_seconds=(0.0, 0.0), lease=LeaseTerms(seconds=6.0, renew_seconds=2.0)
)


class FakeNotifications:
    """Orders get a shipment each; its status is what the test sets (404 until set)."""

    def __init__(self) -> None:
        self.shipments: dict[str, dict[str, Any] | int] = {}
        self.created: list[str] = []
        self.gets = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                shipment = str(uuid.uuid4())
                owner.created.append(shipment)
                self._answer(
                    201,
                    {"notificationOrderId": str(uuid.uuid4()), "notification": {"shipmentId": shipment}},
                )

            def do_GET(self) -> None:
                owner.gets += 1
                answer = owner.shipments.get(self.path.rsplit("/", 1)[-1], 404)
                if isinstance(answer, int):
                    self._answer(answer, {"title": "no"})
                else:
                    self._answer(200, answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def status(self, shipment: str, order_status: str, *recipients: tuple[str, str, str]) -> None:
        self.shipments[shipment] = {
            "shipmentId": shipment,
            "sendersReference": "corr-ref-1",
            "type": "Notification",
            "status": order_status,
            "lastUpdate": "2026-01-01T00:00:00+00:00",
            "recipients": [
                {"type": t, "destination": d, "status": s, "lastUpdate": "2026-01-01T00:00:00+00:00"}
                for t, d, s in recipients
            ],
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def notifications(db):
    with db.transaction() as conn:  # orders other tests left to altinn gateways of their own wait
        conn.execute(
            "UPDATE notification_orders SET check_due = now() + interval '1 day' "
            "WHERE gateway = 'altinn' AND delivery_status IS NULL"
        )
    fake = FakeNotifications()
    yield fake
    fake.close()


def ordered(client, sender, db, gateway, urn: str) -> uuid.UUID:
    answer = ok(post(client, initialize_request([urn], notification=NOTIFICATION), sender))
    cid = uuid.UUID(answer["correspondences"][0]["correspondenceId"])
    relayed(db, cid)
    create_notification_orders(db, gateway, [cid], policy=OrderPolicy())
    publish(db, [cid])
    return cid


def events_of(db, cid: uuid.UUID) -> list[str]:
    with db.transaction() as conn:
        return [
            r["event_type"]
            for r in conn.execute(
                "SELECT event_type FROM correspondence_events WHERE correspondence_id = %s ORDER BY id",
                (cid,),
            )
        ]


def test_an_order_is_followed_until_its_addresses_are_final(client, sender, db, notifications):
    gateway = AltinnNotificationsGateway(notifications.url, timeout=5)
    urn = org_with_email(db, "Fulgt AS", email="fulgt@example.test", mobile="+4798765430")
    cid = ordered(client, sender, db, gateway, urn)
    [shipment] = notifications.created

    check_deliveries(db, gateway, policy=POLICY)  # not known there yet: 404
    assert deliveries_of(db, [cid]) == []
    notifications.status(shipment, "Order_Processing", ("Email", "fulgt@example.test", "Email_New"))
    assert check_deliveries(db, gateway, policy=POLICY).waiting == 1
    assert [(d["address"], d["status"]) for d in deliveries_of(db, [cid])] == [("fulgt@example.test", "New")]

    notifications.status(
        shipment,
        "Order_Completed",
        ("Email", "fulgt@example.test", "Email_Delivered"),
        ("SMS", "+4798765430", "SMS_Failed_InvalidReceiver"),
    )
    assert check_deliveries(db, gateway, policy=POLICY).final == 1
    rows = {d["address"]: (d["channel"], d["status"], d["reason"]) for d in deliveries_of(db, [cid])}
    assert rows == {
        "fulgt@example.test": ("Email", "Delivered", None),
        "+4798765430": ("Sms", "Failed", "SMS_Failed_InvalidReceiver"),
    }
    shown = ok(details(client, str(cid), sender))["notifications"][0]["notificationStatusDetails"]
    assert shown["email"]["sendStatus"]["status"] == "Email_Delivered" and shown["email"]["succeeded"] is True
    assert shown["sms"]["sendStatus"] == {
        "status": "SMS_Failed",
        "description": "SMS_Failed_InvalidReceiver",
        "lastUpdate": shown["sms"]["sendStatus"]["lastUpdate"],
    }
    assert events_of(db, cid)[-2:] == [
        "correspondencenotificationdelivered",
        "correspondencenotificationfailed",
    ]
    gets = notifications.gets
    check_deliveries(db, gateway, policy=POLICY)
    assert notifications.gets == gets  # final: never asked again


def test_an_order_never_final_is_given_up_with_unknown(client, sender, db, notifications):
    gateway = AltinnNotificationsGateway(notifications.url, timeout=5)
    cid = ordered(client, sender, db, gateway, org_with_email(db, "Aldri AS", email="aldri@example.test"))
    [shipment] = notifications.created
    notifications.status(shipment, "Order_Processing", ("Email", "aldri@example.test", "Email_Sending"))
    results = [check_deliveries(db, gateway, policy=POLICY) for _ in range(3)]
    assert [r.waiting for r in results] == [1, 1, 0] and results[2].gave_up == 1
    [row] = deliveries_of(db, [cid])
    assert (row["status"], row["reason"]) == ("Failed", "unknown")
    assert events_of(db, cid)[-2:] == [
        "correspondencenotificationfailed",
        "correspondencenotificationallfailed",
    ]


def test_a_condition_not_met_order_ends_without_events(client, sender, db, notifications):
    gateway = AltinnNotificationsGateway(notifications.url, timeout=5)
    cid = ordered(client, sender, db, gateway, org_with_email(db, "Lest AS"))
    [shipment] = notifications.created
    notifications.status(shipment, "Order_SendConditionNotMet")
    before = events_of(db, cid)
    assert check_deliveries(db, gateway, policy=POLICY).final == 1
    assert events_of(db, cid) == before
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT delivery_status, order_status FROM notification_orders WHERE correspondence_id = %s",
            (cid,),
        ).fetchone()
    assert (row["delivery_status"], row["order_status"]) == (
        "SendConditionNotMet",
        "Order_SendConditionNotMet",
    )


def test_notifications_unavailable_is_looked_at_again(client, sender, db, notifications):
    gateway = AltinnNotificationsGateway(notifications.url, timeout=5)
    cid = ordered(client, sender, db, gateway, org_with_email(db, "Nede AS", email="nede@example.test"))
    [shipment] = notifications.created
    notifications.shipments[shipment] = 503
    result = check_deliveries(db, gateway, policy=POLICY)
    assert (result.unavailable, result.waiting) == (1, 1)
    notifications.status(shipment, "Order_Completed", ("Email", "nede@example.test", "Email_Succeeded"))
    assert check_deliveries(db, gateway, policy=POLICY).final == 1
    assert [d["status"] for d in deliveries_of(db, [cid])] == ["Succeeded"]


def test_the_worker_task_checks_with_the_altinn_gateway_only(client, sender, db, notifications):
    import workers.tasks.notifications  # noqa: F401  (registers the task)
    from app.config import WorkerSettings
    from tests.conftest import current_celery
    from workers.celery_app import TASK_CHECK_DELIVERIES
    from workers.gateways.local import LocalGateway
    from workers.services import WorkerServices

    gateway = AltinnNotificationsGateway(notifications.url, timeout=5)
    cid = ordered(
        client, sender, db, gateway, org_with_email(db, "Oppgave Altinn AS", email="oa@example.test")
    )
    [shipment] = notifications.created
    notifications.status(shipment, "Order_Completed", ("Email", "oa@example.test", "Email_Succeeded"))
    task = current_celery().tasks[TASK_CHECK_DELIVERIES]
    settings = WorkerSettings(gateway="altinn", delivery_check_first_seconds=0)
    try:
        current_celery().installed_services = WorkerServices(WorkerSettings(), db, LocalGateway())
        assert task.apply().get() == {}
        current_celery().installed_services = WorkerServices(settings, db, gateway)
        assert task.apply().get()["final"] >= 1
    finally:
        current_celery().installed_services = None
    assert [d["status"] for d in deliveries_of(db, [cid])] == ["Succeeded"]
