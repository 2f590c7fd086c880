"""The correspondence aggregate as the domain sees it, and the status rules (SPEC.md §1.3). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.enums import CorrespondenceStatus as S

AVAILABLE_FOR_RECIPIENT = frozenset(
    {
        S.Published,
        S.Fetched,
        S.Read,
        S.Replied,
        S.Confirmed,
        S.Archived,
        S.Reserved,
        S.AttachmentsDownloaded,
        S.Forwarded,
    }
)
AVAILABLE_FOR_SENDER = frozenset(
    {
        S.Initialized,
        S.ReadyForPublish,
        S.Failed,
        S.Published,
        S.Fetched,
        S.Read,
        S.Confirmed,
        S.Replied,
        S.Reserved,
        S.AttachmentsDownloaded,
        S.Forwarded,
    }
)
PURGEABLE_BY_SENDER = frozenset({S.Initialized, S.ReadyForPublish, S.Failed})


@dataclass(frozen=True)
class StatusEntry:
    status: int
    status_text: str
    status_changed: datetime


def highest_status(statuses: set[int]) -> int | None:
    """The numerically highest status, ignoring Fetched (SPEC.md §1.3), or None for none."""
    return max((s for s in statuses if s != S.Fetched), default=None)


def current_status(history: list[StatusEntry]) -> StatusEntry | None:
    """The entry with the numerically highest status, ignoring Fetched (not the latest one)."""
    candidates = [e for e in history if e.status != S.Fetched]
    if not candidates:
        return None
    return max(candidates, key=lambda e: (e.status, e.status_changed))


SEND, NEVER, NOT_YET = "send", "never", "not-yet"


def notification_condition(statuses: set[int] | None, *, is_reminder: bool) -> str:
    """Whether a notification may go out now (SPEC.md §5.5 condition endpoints).

    never: correspondence missing, purged or Failed, or (reminder) already Read;
    not-yet: not Published yet (the publish job will get there);
    send: otherwise.
    """
    if not statuses or statuses & {S.PurgedByAltinn, S.PurgedByRecipient, S.Failed}:
        return NEVER
    if S.Published not in statuses:
        return NOT_YET
    if is_reminder and S.Read in statuses:
        return NEVER
    return SEND
