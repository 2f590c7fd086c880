"""POST /correspondence/{id}/forward: the recipient forwards a read correspondence by e-mail (SPEC.md §3.10).

With NOTIFICATION_GATEWAY=smtp the forwarding e-mail (composed as Altinn composes it: subject the
title, the recipient's text and the body) is written with the forwarding event, in one transaction,
as an order of one address that the e-mail worker sends; Forwarded (13) is recorded when the server
accepted it (app/db/repositories/deliveries.py finish_orders). 3028 when it cannot be composed.
With NOTIFICATION_GATEWAY=altinn it is ordered from Notifications' composed-e-mail API once the
forwarding event is committed (no transaction open during the call; a failure removes the event and
answers 3028, as Altinn does); the delivery checks follow its shipment and write Forwarded when the
e-mail got there. With the local gateway no e-mail is sent: Forwarded is written right away.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from app.db.pool import Database
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import deliveries as delivery_repo
from app.db.repositories import forwarding as forwarding_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.domain.correspondence import AVAILABLE_FOR_RECIPIENT, highest_status
from app.domain.deliveries import composed_email_request, forward_order_id, forwarding_email
from app.domain.enums import CorrespondenceStatus as S
from app.domain.errors import CorrespondenceError
from app.domain.forwarding import address_key, forwarding_error
from app.domain.ids import uuid7
from app.security.identity import Caller
from app.usecases.authorization import role_on_correspondence
from app.usecases.get_correspondence import RECIPIENT

log = logging.getLogger(__name__)
PURGED = {S.PurgedByAltinn, S.PurgedByRecipient}


ComposedEmail = Callable[[dict[str, Any]], uuid.UUID]


def forward_correspondence(
    db: Database,
    caller: Caller,
    correspondence_id: uuid.UUID,
    forward_to: str,
    forwarding_text: str | None,
    *,
    send_email: bool = False,
    composed_email: ComposedEmail | None = None,
) -> uuid.UUID:
    """The id of the new forwarding event. Checks: 1001 (also for anyone but the recipient, and for a
    correspondence the recipient cannot see), then 3011, 3027, 1063, 1066, 1067, 1065, 1064, 4006.

    `send_email`: the smtp gateway sends the forwarding e-mail. `composed_email`: Altinn Notifications
    takes it (called with no transaction open; any failure: the forwarding event is removed, 3028)."""
    with db.transaction() as conn:
        # Locked first: serializes with markasread/purge and with a concurrent forward.
        if lifecycle_repo.lock_correspondence(conn, correspondence_id) is None:
            raise CorrespondenceError(1001)
        row = correspondence_repo.get_correspondence(conn, correspondence_id)
        if row is None:
            raise CorrespondenceError(1001)
        role_on_correspondence(conn, caller, row, only=RECIPIENT)
        statuses = {s["status"] for s in row["statuses"]}
        if statuses & PURGED or highest_status(statuses) not in AVAILABLE_FOR_RECIPIENT:
            raise CorrespondenceError(1001)
        code = forwarding_error(
            forward_to,
            forwarding_text,
            allow_forwarding=bool(row["allow_forwarding"]),
            has_been_read=S.Read in statuses,
        )
        if code is not None:
            raise CorrespondenceError(code)
        if caller.party_urn is None:
            raise CorrespondenceError(4006)
        now = datetime.now(UTC)
        event = forwarding_repo.ForwardingEvent(
            id=uuid7(),
            correspondence_id=correspondence_id,
            forwarded_on_date=now,
            forwarded_by_party_urn=caller.party_urn,
            forwarded_to_email_address=forward_to,
            forwarded_to_key=address_key(forward_to),
            forwarding_text=forwarding_text,
        )
        if not forwarding_repo.add_forwarding_event(conn, event):
            raise CorrespondenceError(1064)
        email = None
        if send_email or composed_email is not None:
            email = forwarding_email(
                row["message_title"],
                row["message_body"],
                forwarding_text,
                to=forward_to.strip(),
                forwarded_by=caller.party_urn,
            )
            if email is None:
                raise CorrespondenceError(3028)  # rolls the forwarding event back
        order_id = forward_order_id(correspondence_id, event.forwarded_to_key)
        if email is not None and composed_email is None:  # ordered from Notifications after the commit
            delivery_repo.add_forward_email(
                conn, order_id, correspondence_id, forward_to.strip(), event.forwarded_to_key, email
            )
        elif email is None:
            lifecycle_repo.add_statuses(
                conn, [(correspondence_id, int(S.Forwarded), S.Forwarded.name, now, caller.party_urn)]
            )
        if composed_email is None:
            lifecycle_repo.add_events(
                conn, [("correspondenceforwarded", correspondence_id, row["recipient"])]
            )
    if composed_email is None or email is None:
        return event.id
    request = composed_email_request(
        correspondence_id, row["senders_reference"], event.forwarded_to_key, email, now
    )
    try:
        shipment = composed_email(request)
    except Exception as exc:
        log.warning("forwarding e-mail of %s not ordered: %s", correspondence_id, exc)
        with db.transaction() as conn:
            forwarding_repo.delete_forwarding_event(conn, event.id)
        raise CorrespondenceError(3028) from exc
    with db.transaction() as conn:
        delivery_repo.add_forward_email(
            conn,
            order_id,
            correspondence_id,
            forward_to.strip(),
            event.forwarded_to_key,
            {**email, "composedEmail": request},
            shipment_id=shipment,
        )
        lifecycle_repo.add_events(conn, [("correspondenceforwarded", correspondence_id, row["recipient"])])
    return event.id
