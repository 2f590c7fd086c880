"""The publish decision (SPEC.md §1.3, §1.5) and the due-date events (§1.6)."""

from __future__ import annotations

import pytest

from app.domain.enums import AttachmentStatus as A
from app.domain.enums import CorrespondenceStatus as S
from app.domain.publication import (
    DONE,
    FAIL,
    PUBLISH,
    WAIT,
    PublishDecision,
    decide_publication,
    due_date_events,
)

PERSON = "urn:altinn:person:identifier-no:08900499559"
UNAVAILABLE = "Attachment is not available: it failed, was purged or expired"
RESERVED = f"Recipient {PERSON} has been set to reserved in kontakt- og reservasjonsregisteret ('KRR')"
READY = {int(S.Initialized), int(S.ReadyForPublish)}


def decide(statuses=READY, attachments=(), reserved=False, ignore=None) -> PublishDecision:
    return decide_publication(set(statuses), list(attachments), PERSON, reserved, ignore)


@pytest.mark.parametrize("final", [S.Published, S.Failed, S.PurgedByAltinn, S.PurgedByRecipient])
def test_a_final_status_means_nothing_more_to_do(final: S) -> None:
    assert decide(READY | {int(final)}, [(A.Failed, False)], reserved=True) == PublishDecision(DONE)


def test_ready_correspondence_is_published_without_a_second_ready_for_publish() -> None:
    assert decide() == PublishDecision(PUBLISH, None, False)


@pytest.mark.parametrize("statuses", [{0}, {0, 3}, {0, 1, 10}])
def test_ready_for_publish_is_written_when_it_is_not_the_highest_status(statuses: set[int]) -> None:
    assert decide(statuses) == PublishDecision(PUBLISH, None, True)


@pytest.mark.parametrize(
    "attachments",
    [
        [(A.Published, True)],
        [(A.Expired, True)],
        [(A.UploadProcessing, True)],
        [(None, True), (A.Published, True)],
    ],
)
def test_attachments_that_have_been_published_let_it_publish(attachments) -> None:
    assert decide(attachments=attachments).action == PUBLISH


@pytest.mark.parametrize(
    "attachments",
    [
        [(A.Initialized, False)],
        [(A.UploadProcessing, False)],
        [(None, False)],
        [(A.Published, True), (A.UploadProcessing, False)],
        [(A.Initialized, False), (A.Failed, True)],
    ],
)
def test_waits_for_an_attachment_not_yet_published(attachments) -> None:
    assert decide(attachments=attachments) == PublishDecision(WAIT)


@pytest.mark.parametrize(
    "attachments",
    [
        [(A.Failed, False)],
        [(A.Failed, True)],
        [(A.Purged, True)],
        [(A.Expired, False)],
        [(A.Published, True), (A.Purged, True)],
    ],
)
def test_fails_when_an_attachment_is_gone(attachments) -> None:
    assert decide(attachments=attachments, reserved=True) == PublishDecision(FAIL, UNAVAILABLE)


@pytest.mark.parametrize("ignore", [None, False])
def test_reserved_person_fails_unless_reservation_is_ignored(ignore) -> None:
    assert decide(reserved=True, ignore=ignore) == PublishDecision(FAIL, RESERVED)
    assert decide(reserved=True, ignore=True) == PublishDecision(PUBLISH, None, False)


def test_reservation_is_checked_after_the_attachments() -> None:
    assert decide(attachments=[(A.Initialized, False)], reserved=True) == PublishDecision(WAIT)


@pytest.mark.parametrize(
    ("statuses", "confirm", "events"),
    [
        ({0, 1, 2}, False, ["correspondencereceiverneverread"]),
        ({0, 1, 2}, True, ["correspondencereceiverneverread", "correspondencereceiverneverconfirmed"]),
        ({0, 1, 2, 3, 4}, True, ["correspondencereceiverneverconfirmed"]),
        ({0, 1, 2, 3, 4}, False, []),
        ({0, 1, 2, 3, 4, 6}, True, []),
        ({0, 1, 2, 6}, True, ["correspondencereceiverneverread"]),
        ({0, 1}, True, None),  # never published
        ({0, 11}, True, None),
        ({0, 1, 2, 11}, True, None),  # failed
    ],
)
def test_due_date_events_of_spec_1_6(statuses: set[int], confirm: bool, events: list[str] | None) -> None:
    assert due_date_events(statuses, confirm) == events
