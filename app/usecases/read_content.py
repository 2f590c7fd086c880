"""GET /correspondence/{id}/content: the message body for its recipient, who has then fetched and read it.

As Altinn's controller, which runs the overview handler with OnlyGettingContent: the overview's
checks and its Fetched row (15 s debounce), then Read with its event when never read before
(SPEC.md §3.1, §1.3). Only the recipient reads: anyone else, the sender too, gets 404/1001
(DESIGN.md §4).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.db.pool import Database
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.domain.enums import CorrespondenceStatus as S
from app.domain.errors import CorrespondenceError
from app.security.identity import Caller
from app.usecases.get_correspondence import RECIPIENT, get_overview

PURGED = {S.PurgedByAltinn, S.PurgedByRecipient}


def read_content(db: Database, caller: Caller, correspondence_id: uuid.UUID) -> str:
    """The body as the overview shows it to the recipient (reply options appended when more than 3)."""
    # 404/1001 checks (the sender too: only the recipient reads); the recipient's Fetched row
    view = get_overview(db, caller, correspondence_id, only=RECIPIENT)
    _mark_read(db, caller, correspondence_id)
    return view["content"]["message_body"]


def _mark_read(db: Database, caller: Caller, correspondence_id: uuid.UUID) -> None:
    with db.transaction() as conn:
        row = lifecycle_repo.lock_correspondence(conn, correspondence_id)  # serializes with markasread
        if row is None:
            raise CorrespondenceError(1001)
        statuses = correspondence_repo.status_sets(conn, [correspondence_id]).get(correspondence_id, set())
        if statuses & PURGED:
            raise CorrespondenceError(1001)  # purged since the overview above
        if S.Read in statuses:
            return
        now = datetime.now(UTC)
        lifecycle_repo.add_statuses(
            conn, [(correspondence_id, int(S.Read), S.Read.name, now, caller.party_urn)]
        )
        lifecycle_repo.add_events(conn, [("correspondencereceiverread", correspondence_id, row["recipient"])])
