"""The client library (clients/python) against the service over real HTTP: typed models, retries on
429/503 with Retry-After, idempotent Initialize after lost answers, tokens that refresh."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from correspondence_client import (
    ApiError,
    Content,
    Correspondence,
    CorrespondenceDetails,
    InitializeRequest,
    Notification,
    OutcomeUnknown,
    ReplyOption,
    RetryPolicy,
    TokenCache,
    parse_retry_after,
)
from tests.client.conftest import INITIALIZE, count_by_recipient, unique_reference
from tests.factories import NO_CONTACT_PERSON, ORG_RECIPIENT, PERSON_RECIPIENT

SEARCH = ("GET", "/correspondence/api/v1/correspondence")


def message(reference: str, **extra) -> Correspondence:
    return Correspondence(
        resource_id="test-service",
        senders_reference=reference,
        content=Content(message_title="Skattemelding", message_body="Hei **du**"),
        **extra,
    )


def test_initialize_typed_models_details_and_search(make_client, db):
    client = make_client()
    reference = unique_reference()
    request = InitializeRequest(
        correspondence=message(
            reference,
            property_list={"CaseNo": "42"},
            reply_options=[ReplyOption(link_url="https://example.no/svar", link_text="Svar")],
            due_date_time=datetime.now(UTC) + timedelta(days=30),
        ),
        recipients=["313721779", "08900499559"],
    )  # a plain organization number: the client makes it a URN
    answer = client.initialize(request)
    assert [c.recipient for c in answer.correspondences] == [ORG_RECIPIENT, PERSON_RECIPIENT]
    assert all(isinstance(c.correspondence_id, uuid.UUID) for c in answer.correspondences)
    assert {c.status for c in answer.correspondences} == {"ReadyForPublish"} and not answer.recovered

    details = client.get_details(answer.correspondences[0].correspondence_id)
    assert isinstance(details, CorrespondenceDetails)
    assert details.senders_reference == reference and details.property_list == {"CaseNo": "42"}
    assert (
        details.content.message_title == "Skattemelding" and details.status_history[0].status == "Initialized"
    )
    assert details.raw["replyOptions"] == [{"linkURL": "https://example.no/svar", "linkText": "Svar"}]
    overview = client.get_overview(answer.correspondences[1].correspondence_id)
    assert overview.recipient == PERSON_RECIPIENT and overview.due_date_time > datetime.now(UTC)
    found = client.search("test-service", senders_reference=reference)
    assert set(found) == {c.correspondence_id for c in answer.correspondences}
    assert count_by_recipient(db, reference) == {ORG_RECIPIENT: 1, PERSON_RECIPIENT: 1}


def test_single_recipient_gets_an_idempotent_key_and_a_repeat_is_recovered(make_client, db):
    client = make_client()
    reference = unique_reference()
    request = InitializeRequest(correspondence=message(reference), recipients=[ORG_RECIPIENT])
    first = client.initialize(request, idempotency_key=f"job-{reference}")
    again = client.initialize(request, idempotency_key=f"job-{reference}")  # another process, same job
    assert again.recovered and not first.recovered
    assert again.correspondences[0].correspondence_id == first.correspondences[0].correspondence_id
    assert count_by_recipient(db, reference) == {ORG_RECIPIENT: 1}


def test_429_and_503_are_retried_honouring_retry_after(make_client, service, sleeps, db):
    _, faults = service
    faults.add(INITIALIZE, ("status", 429, 7))
    faults.add(INITIALIZE, ("status", 503, 3))
    faults.add(INITIALIZE, ("status", 503, None))
    client = make_client()
    reference = unique_reference()
    answer = client.initialize(
        InitializeRequest(correspondence=message(reference), recipients=[ORG_RECIPIENT, PERSON_RECIPIENT])
    )
    assert len(answer.correspondences) == 2
    assert sleeps[:2] == [7.0, 3.0] and 0 < sleeps[2] <= 0.05  # Retry-After, then backoff
    assert client.transport.retries == 3
    assert count_by_recipient(db, reference) == {ORG_RECIPIENT: 1, PERSON_RECIPIENT: 1}


def test_retries_give_up_with_the_last_answer(make_client, service):
    _, faults = service
    faults.add(INITIALIZE, ("status", 503, 0), times=10)
    client = make_client(retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    with pytest.raises(ApiError) as raised:
        client.initialize(
            InitializeRequest(correspondence=message(unique_reference()), recipients=[ORG_RECIPIENT])
        )
    assert raised.value.status == 503 and raised.value.retriable
    assert len(faults.applied) == 3


@pytest.mark.parametrize(
    "recipients",
    [[ORG_RECIPIENT], [ORG_RECIPIENT, PERSON_RECIPIENT, NO_CONTACT_PERSON]],
    ids=["one recipient (idempotentKey)", "several (search by sendersReference)"],
)
def test_a_lost_answer_is_never_sent_twice(make_client, service, db, recipients):
    _, faults = service
    faults.add(INITIALIZE, ("lose", 502))  # stored, but the answer never arrives
    client = make_client()
    reference = unique_reference()
    answer = client.initialize(InitializeRequest(correspondence=message(reference), recipients=recipients))
    assert answer.recovered
    assert [c.recipient for c in answer.correspondences] == recipients
    assert count_by_recipient(db, reference) == {r: 1 for r in recipients}
    assert {c.correspondence_id for c in answer.correspondences} == set(
        client.search("test-service", senders_reference=reference)
    )


def test_a_lost_request_is_sent_again(make_client, service, db):
    """A 502 before the service saw the request: the search finds nothing, so the request goes again."""
    _, faults = service
    faults.add(INITIALIZE, ("status", 502, None))
    client = make_client()
    reference = unique_reference()
    answer = client.initialize(
        InitializeRequest(correspondence=message(reference), recipients=[ORG_RECIPIENT, PERSON_RECIPIENT])
    )
    assert not answer.recovered
    assert count_by_recipient(db, reference) == {ORG_RECIPIENT: 1, PERSON_RECIPIENT: 1}
    assert faults.initializes == 1


def test_a_reused_senders_reference_is_told_apart_by_the_search_taken_before(make_client, service, db):
    _, faults = service
    client = make_client()
    reference = unique_reference()
    request = InitializeRequest(
        correspondence=message(reference), recipients=[ORG_RECIPIENT, PERSON_RECIPIENT]
    )
    earlier = client.initialize(request)  # the same reference, used before on purpose
    faults.add(INITIALIZE, ("lose", 500))
    later = client.initialize(request)
    assert later.recovered
    assert not {c.correspondence_id for c in later.correspondences} & {
        c.correspondence_id for c in earlier.correspondences
    }
    assert count_by_recipient(db, reference) == {ORG_RECIPIENT: 2, PERSON_RECIPIENT: 2}


def test_outcome_unknown_when_the_check_cannot_be_made(make_client, service, db):
    _, faults = service
    faults.add(INITIALIZE, ("lose", 504))
    faults.add(SEARCH, ("status", 503, 0), times=10)
    client = make_client(retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    reference = unique_reference()
    request = InitializeRequest(
        correspondence=message(reference), recipients=[ORG_RECIPIENT, PERSON_RECIPIENT]
    )
    with pytest.raises(OutcomeUnknown):
        client.initialize(request, unique_reference=True)
    faults.clear()
    assert client.find_initialized(request) is not None  # what the caller does later
    assert count_by_recipient(db, reference) == {ORG_RECIPIENT: 1, PERSON_RECIPIENT: 1}


def test_prefer_wait_brings_the_orders(make_client, worker):
    client = make_client()
    answer = client.initialize(
        InitializeRequest(
            correspondence=message(
                unique_reference(),
                notification=Notification(
                    notification_channel="Email", email_subject="Varsel", email_body="Du har post"
                ),
            ),
            recipients=[ORG_RECIPIENT, NO_CONTACT_PERSON],
        ),
        wait_seconds=10,
    )
    statuses = {c.recipient: [o.status for o in c.notifications] for c in answer.correspondences}
    assert statuses == {ORG_RECIPIENT: ["Success"], NO_CONTACT_PERSON: ["MissingContact"]}


def test_errors_are_typed(make_client):
    client = make_client()
    with pytest.raises(ApiError) as raised:
        client.initialize(
            InitializeRequest(
                correspondence=message(
                    "x",
                ),
                recipients=["urn:altinn:organization:identifier-no:313721779", "0192:313721779"],
            )
        )
    assert raised.value.status == 400 and raised.value.error_code == 1006
    with pytest.raises(ApiError) as raised:
        client.initialize(
            InitializeRequest(
                correspondence=Correspondence(
                    resource_id="test-service",
                    senders_reference="x",
                    content=Content(message_title="", message_body="b"),
                ),
                recipients=[ORG_RECIPIENT],
            )
        )
    assert raised.value.error_code is None and raised.value.validation_errors
    assert "400" in str(raised.value)
    with pytest.raises(ValueError, match="1047"):
        client.initialize(
            InitializeRequest(
                correspondence=message("x"),
                recipients=[ORG_RECIPIENT, PERSON_RECIPIENT],
                idempotent_key=uuid.uuid4(),
            )
        )


def test_a_refreshing_token_is_fetched_again_after_401(make_client, tokens):
    handed = ["not-a-valid-token", tokens.make(ttl=600)]
    cache = TokenCache(lambda: handed.pop(0))
    client = make_client(token=cache)
    assert client.search("test-service", senders_reference="nothing-like-this") == []
    assert cache.fetches == 2
    client.search("test-service", senders_reference="nothing-like-this")
    assert cache.fetches == 2  # kept until shortly before its exp


def test_token_cache_refreshes_before_expiry(tokens):
    now = [1000.0]
    minted = []

    def fetch() -> str:
        minted.append(tokens.make(ttl=120))
        return minted[-1]

    cache = TokenCache(fetch, margin=60, clock=lambda: now[0])
    import time as _time

    now[0] = _time.time()
    first = cache()
    assert cache() == first and cache.fetches == 1
    now[0] += 61  # within the margin of exp
    cache()
    assert cache.fetches == 2


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("Tue, 01 Jan 2030 12:00:30 GMT", now=lambda: now) == 30.0
    assert parse_retry_after("Tue, 01 Jan 2030 11:00:00 GMT", now=lambda: now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    policy = RetryPolicy(base_delay=1, max_delay=8, jitter=False, max_retry_after=60)
    assert [policy.backoff(a) for a in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]
    assert policy.backoff(1, retry_after=600) == 60
