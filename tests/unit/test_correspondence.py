"""Status rules of a correspondence (SPEC.md §1.3) and the notification send condition (§5.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.correspondence import (
    AVAILABLE_FOR_RECIPIENT,
    AVAILABLE_FOR_SENDER,
    NEVER,
    NOT_YET,
    PURGEABLE_BY_SENDER,
    SEND,
    StatusEntry,
    current_status,
    highest_status,
    notification_condition,
)
from app.domain.enums import CorrespondenceStatus as S

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def history(*statuses: S) -> list[StatusEntry]:
    """One entry per status, a minute apart, in the order given."""
    return [StatusEntry(int(s), s.name, T0 + timedelta(minutes=i)) for i, s in enumerate(statuses)]


def test_status_sets_of_spec_1_3() -> None:
    assert {
        S.Published,
        S.Fetched,
        S.Read,
        S.Replied,
        S.Confirmed,
        S.Archived,
        S.Reserved,
        S.AttachmentsDownloaded,
        S.Forwarded,
    } == AVAILABLE_FOR_RECIPIENT
    assert set(S) - {S.Archived, S.PurgedByRecipient, S.PurgedByAltinn} == AVAILABLE_FOR_SENDER
    assert {S.Initialized, S.ReadyForPublish, S.Failed} == PURGEABLE_BY_SENDER


def test_current_status_is_the_highest_not_the_latest() -> None:
    """SPEC.md §1.3: Published → Read → AttachmentsDownloaded → Confirmed is AttachmentsDownloaded."""
    entries = history(S.Initialized, S.Published, S.Read, S.AttachmentsDownloaded, S.Confirmed)
    assert current_status(entries) == entries[3]
    assert highest_status({int(e.status) for e in entries}) == S.AttachmentsDownloaded


def test_fetched_is_never_the_current_status() -> None:
    entries = history(S.Initialized, S.ReadyForPublish, S.Published, S.Fetched)
    assert current_status(entries) == entries[2]
    assert highest_status({0, 1, 2, 3}) == S.Published
    assert current_status(history(S.Fetched)) is None
    assert highest_status({int(S.Fetched)}) is None
    assert current_status([]) is None and highest_status(set()) is None


def test_failed_outranks_everything_below_it() -> None:
    assert highest_status({0, 1, 2, 4, 6, 11}) == S.Failed
    assert highest_status({0, 11, 12}) == S.AttachmentsDownloaded


def test_the_later_of_two_entries_with_the_same_status_is_current() -> None:
    early, late = StatusEntry(12, "first download", T0), StatusEntry(12, "second download", T0 + timedelta(1))
    assert current_status([late, early]) is late
    assert current_status([early, late]) is late


@pytest.mark.parametrize(
    ("statuses", "main", "reminder"),
    [
        (set(), NEVER, NEVER),  # correspondence missing
        (None, NEVER, NEVER),
        ({S.Initialized}, NOT_YET, NOT_YET),
        ({S.Initialized, S.ReadyForPublish}, NOT_YET, NOT_YET),
        ({S.Initialized, S.ReadyForPublish, S.Published}, SEND, SEND),
        ({S.Initialized, S.Published, S.Fetched}, SEND, SEND),
        ({S.Initialized, S.Published, S.Read}, SEND, NEVER),  # the main endpoint ignores Read
        ({S.Initialized, S.Published, S.Read, S.Confirmed}, SEND, NEVER),
        ({S.Initialized, S.Failed}, NEVER, NEVER),
        ({S.Initialized, S.Published, S.PurgedByRecipient}, NEVER, NEVER),
        ({S.Initialized, S.PurgedByAltinn}, NEVER, NEVER),
        ({S.Initialized, S.Published, S.Failed}, NEVER, NEVER),
    ],
)
def test_notification_condition_of_spec_5_5(statuses, main: str, reminder: str) -> None:
    statuses = None if statuses is None else {int(s) for s in statuses}
    assert notification_condition(statuses, is_reminder=False) == main
    assert notification_condition(statuses, is_reminder=True) == reminder
