"""The publish decision for one correspondence (SPEC.md §1.3, §1.5). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.correspondence import highest_status
from app.domain.enums import AttachmentStatus as A
from app.domain.enums import CorrespondenceStatus as S

DONE, WAIT, PUBLISH, FAIL = "done", "wait", "publish", "fail"
FINAL = frozenset({S.Published, S.Failed, S.PurgedByAltinn, S.PurgedByRecipient})


@dataclass(frozen=True)
class PublishDecision:
    action: str
    reason: str | None = None
    write_ready_for_publish: bool = False


def decide_publication(
    statuses: set[int],
    attachment_statuses: list[tuple[int | None, bool]],
    recipient: str,
    recipient_reserved: bool,
    ignore_reservation: bool | None,
) -> PublishDecision:
    """statuses: every status the correspondence has had; attachment_statuses: per attachment
    (current status, has ever been Published)."""
    if statuses & FINAL:
        return PublishDecision(DONE)
    for current, ever_published in attachment_statuses:
        if current in (A.Failed, A.Purged) or (current == A.Expired and not ever_published):
            return PublishDecision(FAIL, "Attachment is not available: it failed, was purged or expired")
        if not ever_published:
            return PublishDecision(WAIT)
    if recipient_reserved and ignore_reservation is not True:
        return PublishDecision(
            FAIL,
            f"Recipient {recipient} has been set to reserved in kontakt- og reservasjonsregisteret ('KRR')",
        )
    return PublishDecision(PUBLISH, write_ready_for_publish=highest_status(statuses) != S.ReadyForPublish)


def due_date_events(statuses: set[int], is_confirmation_needed: bool) -> list[str] | None:
    """Events of the due-date job (§1.6); None when it must do nothing (never published, or failed)."""
    if S.Published not in statuses or S.Failed in statuses:
        return None
    events = []
    if S.Read not in statuses:
        events.append("correspondencereceiverneverread")
    if is_confirmation_needed and S.Confirmed not in statuses:
        events.append("correspondencereceiverneverconfirmed")
    return events
