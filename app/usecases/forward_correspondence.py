"""POST /correspondence/{id}/forward: the recipient forwards a read correspondence by e-mail (SPEC.md §3.10).

The forwarding event is stored with the Forwarded(13) status row in one transaction. No e-mail is sent:
there is no composed-e-mail gateway here, so the forwarding counts as delivered at once, and the status
Altinn writes when the e-mail is delivered is written right away (it shows in the details' history).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.db.pool import Database
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import forwarding as forwarding_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.domain.correspondence import AVAILABLE_FOR_RECIPIENT, highest_status
from app.domain.enums import CorrespondenceStatus as S
from app.domain.errors import CorrespondenceError
from app.domain.forwarding import address_key, forwarding_error
from app.domain.ids import uuid7
from app.security.identity import Caller
from app.usecases.authorization import role_on_correspondence
from app.usecases.get_correspondence import RECIPIENT

PURGED = {S.PurgedByAltinn, S.PurgedByRecipient}


def forward_correspondence(
    db: Database, caller: Caller, correspondence_id: uuid.UUID, forward_to: str, forwarding_text: str | None
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
        lifecycle_repo.add_statuses(
            conn, [(correspondence_id, int(S.Forwarded), S.Forwarded.name, now, caller.party_urn)]
        )
        lifecycle_repo.add_events(conn, [("correspondenceforwarded", correspondence_id, row["recipient"])])
    return event.id
