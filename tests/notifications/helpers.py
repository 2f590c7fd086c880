"""Correspondences whose orders go through the smtp gateway, and its e-mail worker, for tests."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from stdnum.no import orgnr

from app.config import LeaseTerms
from app.db.repositories.registry import upsert_parties
from app.domain.enums import CorrespondenceStatus as S
from app.domain.registry import Party
from app.usecases.create_notification_orders import OrderPolicy, create_notification_orders
from app.usecases.send_emails import EmailPolicy, SendResult, send_due_emails
from tests.api.helpers import ok, post, relayed
from tests.factories import initialize_request
from workers.gateways.smtp import SmtpChannel, SmtpGateway, SmtpSettings

FROM = "Altinn <noreply@correspondence.test>"
NOTIFICATION = {
    "notificationTemplate": "CustomMessage",
    "notificationChannel": "Email",
    "emailSubject": "Ny melding til $recipientName$",
    "emailBody": "Hei $recipientName$. $sendersName$ har sendt deg en melding.",
}
FAST = EmailPolicy(retry_base_seconds=0.2, retry_max_seconds=1.0)


def org_with_email(db: Any, name: str, email: str | None = None, mobile: str | None = None) -> str:
    """A new organization in the register with one e-mail address (and mobile, if given)."""
    while True:
        number = f"{random.randint(800000000, 999999999)}"
        if orgnr.is_valid(number):
            break
    urn = f"urn:altinn:organization:identifier-no:{number}"
    party = Party(urn, name, [email or f"post-{number}@example.test"], [mobile] if mobile else [])
    with db.transaction() as conn:
        upsert_parties(conn, [party])
    return urn


def email_of(db: Any, urn: str) -> str:
    with db.transaction() as conn:
        return conn.execute("SELECT emails[1] AS e FROM parties WHERE urn = %s", (urn,)).fetchone()["e"]


def publish(db: Any, ids: list[uuid.UUID]) -> None:
    with db.transaction() as conn:
        for cid in ids:
            conn.execute(
                "INSERT INTO correspondence_statuses (id, correspondence_id, status, status_text, status_changed) "
                "VALUES (%s, %s, %s, %s, %s)",
                (uuid.uuid4(), cid, int(S.Published), S.Published.name, datetime.now(UTC)),
            )


def initialize_with_orders(
    client: Any, sender: dict[str, str], db: Any, recipients: list[str], **notification: Any
) -> list[uuid.UUID]:
    """Initialize, create the orders with the smtp gateway, publish: the e-mails are due."""
    body = initialize_request(recipients, notification={**NOTIFICATION, **notification})
    answer = ok(post(client, body, sender))
    ids = [uuid.UUID(c["correspondenceId"]) for c in answer["correspondences"]]
    relayed(db, *ids)
    create_notification_orders(db, SmtpGateway(), ids, policy=OrderPolicy())
    publish(db, ids)
    return ids


def channel(url: str, timeout: float = 5.0) -> SmtpChannel:
    return SmtpChannel(SmtpSettings.from_url(url, timeout=timeout), FROM)


def send_until_done(
    db: Any, ch: SmtpChannel, ids: list[uuid.UUID], policy: EmailPolicy = FAST, timeout: float = 30.0
) -> list[SendResult]:
    """Run the e-mail worker's use case until no address of these correspondences is left to send."""
    results = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = send_due_emails(db, ch, policy=policy)
        results.append(result)
        if not open_deliveries(db, ids):
            return results
        if not result.claimed:
            time.sleep(0.1)
    raise AssertionError(f"deliveries still open after {timeout} s: {open_deliveries(db, ids)}")


def open_deliveries(db: Any, ids: list[uuid.UUID]) -> int:
    with db.transaction() as conn:
        return conn.execute(
            "SELECT count(*) AS n FROM notification_deliveries WHERE status IN ('New', 'Sending') "
            "AND correspondence_id = ANY(%s)",
            (ids,),
        ).fetchone()["n"]


def deliveries_of(db: Any, ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    with db.transaction() as conn:
        return conn.execute(
            "SELECT d.*, o.is_reminder FROM notification_deliveries d JOIN notification_orders o ON o.id = d.order_id "
            "WHERE d.correspondence_id = ANY(%s) ORDER BY d.address",
            (ids,),
        ).fetchall()


def short_lease() -> LeaseTerms:
    return LeaseTerms(seconds=3.0, renew_seconds=1.0)
