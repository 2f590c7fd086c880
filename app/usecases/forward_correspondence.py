"""POST /correspondence/{id}/forward: the recipient forwards a read correspondence by e-mail (SPEC.md §3.10).

With NOTIFICATION_GATEWAY=smtp the forwarding e-mail (composed as Altinn composes it: subject the
title, the recipient's text and the body) is written with the forwarding event, in one transaction,
as an order of one address that the e-mail worker sends; Forwarded (13) is recorded when the server
accepted it (app/db/repositories/deliveries.py finish_orders). 3028 when it cannot be composed.
With the other gateways no e-mail is sent (the altinn gateway's composed-e-mail API is not used yet):
the forwarding counts as delivered at once and Forwarded is written right away.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.db.pool import Database
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import deliveries as delivery_repo
from app.db.repositories import forwarding as forwarding_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.domain.correspondence import AVAILABLE_FOR_RECIPIENT, highest_status
from app.domain.deliveries import forward_order_id, forwarding_email
from app.domain.enums import CorrespondenceStatus as S
from app.domain.errors import CorrespondenceError
from app.domain.forwarding import address_key, forwarding_error
from app.domain.ids import uuid7
from app.security.identity import Caller
from app.usecases.authorization import role_on_correspondence
from app.usecases.get_correspondence import RECIPIENT

PURGED = {S.PurgedByAltinn, S.PurgedByRecipient}


def forward_correspondence(
    db: Database,
    caller: Caller,
    correspondence_id: uuid.UUID,
    forward_to: str,
    forwarding_text: str | None,
    *,
    send_email: bool = False,
) -> uuid.UUID:
    """The id of the new forwarding event. Checks: 1001 (also for anyone but the recipient, and for a
    correspondence the recipient cannot see), then 3011, 3027, 1063, 1066, 1067, 1065, 1064, 4006."""
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
        if send_email:
            request = forwarding_email(
                row["message_title"],
                row["message_body"],
                forwarding_text,
                to=forward_to.strip(),
                forwarded_by=caller.party_urn,
            )
            if request is None:
                raise CorrespondenceError(3028)  # rolls the forwarding event back
            delivery_repo.add_forward_email(
                conn,
                forward_order_id(correspondence_id, event.forwarded_to_key),
                correspondence_id,
                forward_to.strip(),
                event.forwarded_to_key,
                request,
            )
        else:
            lifecycle_repo.add_statuses(
                conn, [(correspondence_id, int(S.Forwarded), S.Forwarded.name, now, caller.party_urn)]
            )
        lifecycle_repo.add_events(conn, [("correspondenceforwarded", correspondence_id, row["recipient"])])
    return event.id
