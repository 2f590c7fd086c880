"""The rows of one Initialize, built from its validated value (`app.domain.initialize.decide`): the
shared row once, a thin correspondence per recipient, the attachment links. Pure: no Flask, Celery
or SQL (`app.db.repositories.correspondences` writes them in one statement).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app.domain.enums import CorrespondenceStatus
from app.domain.ids import uuid7s

if TYPE_CHECKING:
    from app.domain.initialize import ValidInitialize


@dataclass(frozen=True)
class AttachmentLink:
    attachment_id: uuid.UUID
    expiration_time: datetime | None


@dataclass(frozen=True)
class NewAttachment:
    """An attachment created and uploaded by a multipart Initialize (step 22)."""

    id: uuid.UUID
    expiration_in_days: int | None
    published: bool


@dataclass(frozen=True)
class ThinCorrespondence:
    """What one recipient's correspondence adds to the shared initialization."""

    id: uuid.UUID
    recipient: str
    recipient_name: str | None  # only when the content asks for it
    status: int  # Initialized, ReadyForPublish or Reserved
    wants_notification_orders: bool


@dataclass(frozen=True)
class NewInitialization:
    id: uuid.UUID
    created: datetime
    valid: ValidInitialize
    attachments: tuple[AttachmentLink, ...]
    correspondences: tuple[ThinCorrespondence, ...]

    @property
    def awaiting_orders(self) -> list[uuid.UUID]:
        return [c.id for c in self.correspondences if c.wants_notification_orders]


def new_rows(
    valid: ValidInitialize, new_attachments: Sequence[NewAttachment], now: datetime
) -> NewInitialization:
    """The shared row and one thin row per recipient, from one validated Initialize."""
    expiry_base = max(valid.requested_publish_time, now)
    links = tuple(
        dict.fromkeys(
            AttachmentLink(a_id, expiry_base + timedelta(days=days) if days else None)
            for a_id, days in [
                *((a.id, a.expiration_in_days) for a in new_attachments),
                *((a.id, a.expiration_in_days) for a in valid.existing_attachments),
            ]
        )
    )
    # ReadyForPublish only once every attachment is Published (existing ones are, by 1018).
    ready = all(a.published for a in new_attachments)
    with_name = valid.uses_recipient_name
    wants_orders = valid.notification is not None
    rows = []
    ids = uuid7s(len(valid.recipients) + 1)
    for r, correspondence_id in zip(valid.recipients, ids[1:], strict=True):
        status = (
            CorrespondenceStatus.Reserved
            if r.reserved
            else CorrespondenceStatus.ReadyForPublish
            if ready
            else CorrespondenceStatus.Initialized
        )
        rows.append(
            ThinCorrespondence(
                id=correspondence_id,
                recipient=r.urn,
                recipient_name=r.name if with_name else None,
                status=int(status),
                # Reserved correspondences get no notification job (SPEC.md §3.2 side effects).
                wants_notification_orders=wants_orders and not r.reserved,
            )
        )
    return NewInitialization(
        id=ids[0], created=now, valid=valid, attachments=links, correspondences=tuple(rows)
    )
