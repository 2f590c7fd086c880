"""Happy paths of POST /correspondence/api/v1/correspondence and what they store (SPEC.md §3.2–§3.5, §7)."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from typing import Any

from tests.api.helpers import (
    FULL_NOTIFICATION,
    assert_error,
    count_all_tables,
    count_rows_for,
    details,
    insert_attachment,
    ok,
    org_urn,
    overview,
    post,
)
from tests.conftest import OTHER_ORG
from tests.factories import (
    NO_CONTACT_PERSON,
    ORG_RECIPIENT,
    PERSON_RECIPIENT,
    bruno_example,
    initialize_request,
    with_content,
)

UUID_LENGTH = 36


def ids_of(body: dict[str, Any]) -> list[str]:
    return [c["correspondenceId"] for c in body["correspondences"]]


def swap_key_case(value: Any, keep: frozenset[str] = frozenset({"propertyList"})) -> Any:
    """Every property name upper-cased at every level, except the keys of dictionaries in `keep`."""
    if isinstance(value, list):
        return [swap_key_case(v, keep) for v in value]
    if isinstance(value, dict):
        return {k.upper(): (v if k in keep else swap_key_case(v, keep)) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- the SPEC §6.1 request


def test_spec_example_with_pascal_case_keys(client, sender):
    body = ok(post(client, bruno_example(), sender))
    assert [c["recipient"] for c in body["correspondences"]] == [ORG_RECIPIENT, PERSON_RECIPIENT]
    assert [c["status"] for c in body["correspondences"]] == ["ReadyForPublish", "ReadyForPublish"]
    assert all(c["notifications"] is None for c in body["correspondences"])
    assert all(len(i) == UUID_LENGTH and i == i.lower() for i in ids_of(body))
    assert len(set(ids_of(body))) == 2
    assert body["attachmentIds"] == []
    shown = details(client, ids_of(body)[1], sender).get_json()
    assert shown["isConfirmationNeeded"] is True and shown["allowForwarding"] is True
    assert shown["propertyList"] == {"caseNumber": "123", "etc": "can-use-for-anything"}
    assert shown["replyOptions"] == [{"linkURL": "https://digdir-samarbeid.slack.com/", "linkText": "Slack"}]


def test_recipients_are_normalized_and_kept_in_request_order(client, sender):
    given = [
        "08900499559",
        "0192:313721779",
        "urn:altinn:person:idporten-email:Ola@Example.com",
        "urn:altinn:person:legacy-selfidentified:olanordmann",
        NO_CONTACT_PERSON,
        "18865196381",
    ]
    body = ok(post(client, initialize_request(given), sender))
    assert [c["recipient"] for c in body["correspondences"]] == [
        PERSON_RECIPIENT,
        ORG_RECIPIENT,
        "urn:altinn:person:idporten-email:ola@example.com",
        "urn:altinn:person:legacy-selfidentified:olanordmann",
        NO_CONTACT_PERSON,
        "urn:altinn:person:identifier-no:18865196381",
    ]
    for correspondence_id, entry in zip(ids_of(body), body["correspondences"], strict=True):
        assert details(client, correspondence_id, sender).get_json()["recipient"] == entry["recipient"]


def test_500_recipients_in_one_request(client, sender, db):
    recipients = [org_urn(200000000 + i) for i in range(500)]
    body = ok(post(client, initialize_request(recipients), sender))
    assert [c["recipient"] for c in body["correspondences"]] == recipients
    ids = ids_of(body)
    assert len(set(ids)) == 500
    assert count_rows_for(db, "correspondences", "id", ids) == 500
    with db.transaction() as conn:  # what they share is stored once
        shared = conn.execute(
            "SELECT DISTINCT initialization_id FROM correspondences WHERE id = ANY(%s::uuid[])", (ids,)
        ).fetchall()
    assert len(shared) == 1
    # ReadyForPublish for each: Initialized is derived from the Initialize, not stored.
    assert count_rows_for(db, "correspondence_statuses", "correspondence_id", ids) == 500


# ---------------------------------------------------------------- JSON conventions (SPEC §7.1, §7.2)


def test_enums_by_number(client, sender):
    notification = dict(
        FULL_NOTIFICATION,
        notificationTemplate=0,
        notificationChannel=3,
        emailContentType=1,
        reminderNotificationChannel=1,
    )
    refs = [{"referenceType": 0, "referenceValue": "sak-1"}, {"referenceType": 4, "referenceValue": "p-1"}]
    body = ok(post(client, initialize_request(notification=notification, externalReferences=refs), sender))
    shown = details(client, ids_of(body)[0], sender).get_json()
    assert shown["externalReferences"] == [
        {"referenceValue": "sak-1", "referenceType": "Generic"},
        {"referenceValue": "p-1", "referenceType": "DialogportenProcessId"},
    ]


def test_enum_names_are_case_insensitive(client, sender):
    notification = dict(
        FULL_NOTIFICATION, notificationTemplate="custommessage", notificationChannel="SMSPREFERRED"
    )
    ok(post(client, initialize_request(notification=notification), sender))


def test_property_names_are_case_insensitive_at_every_level(client, sender):
    body = bruno_example()
    body["correspondence"]["messageSender"] = "Avsenderetaten"
    body["correspondence"]["externalReferences"] = [{"referenceType": "Generic", "referenceValue": "sak-9"}]
    body["Recipients"] = ["0192:313721779"]
    shouted = swap_key_case(body)
    assert "CORRESPONDENCE" in shouted and "LINKURL" in shouted["CORRESPONDENCE"]["REPLYOPTIONS"][0]
    answer = ok(post(client, shouted, sender))
    assert [c["recipient"] for c in answer["correspondences"]] == [ORG_RECIPIENT]
    shown = details(client, ids_of(answer)[0], sender).get_json()
    assert shown["resourceId"] == "test-service"
    assert shown["messageSender"] == "Avsenderetaten"
    assert shown["content"]["messageTitle"] == "Testmelding tittel"
    assert shown["content"]["messageSummary"] == "Ett sammendrag for meldingen"
    assert shown["isConfirmationNeeded"] is True and shown["allowForwarding"] is True
    assert shown["dueDateTime"] is not None
    assert shown["propertyList"] == {"caseNumber": "123", "etc": "can-use-for-anything"}
    assert shown["replyOptions"] == [{"linkURL": "https://digdir-samarbeid.slack.com/", "linkText": "Slack"}]
    assert shown["externalReferences"] == [{"referenceValue": "sak-9", "referenceType": "Generic"}]


def test_upper_cased_notification_keys_are_validated(client, sender):
    """The notification rules see upper-cased keys: a missing SMS body is still 3004."""
    notification = swap_key_case(dict(FULL_NOTIFICATION, notificationChannel="Sms", smsBody=None))
    assert_error(post(client, initialize_request(notification=notification), sender), 400, 3004)


# ---------------------------------------------------------------- {{recipientName}}


def test_recipient_name_placeholder_is_replaced_per_recipient(client, sender):
    unknown = org_urn(310000001)
    body = with_content(
        initialize_request([ORG_RECIPIENT, PERSON_RECIPIENT, unknown]),
        messageTitle="Til {{recipientName}}",
        messageBody="Hei {{recipientName}}!",
    )
    answer = ok(post(client, body, sender))
    titles = [details(client, i, sender).get_json()["content"] for i in ids_of(answer)]
    assert [t["messageTitle"] for t in titles] == ["Til Testbedrift AS", "Til Kari Nordmann", "Til 310000001"]
    assert titles[1]["messageBody"] == "Hei Kari Nordmann!"


# ---------------------------------------------------------------- atomicity


def test_late_notification_failure_leaves_no_row(client, sender, db):
    recipients = [org_urn(300000000 + i) for i in range(50)]
    notification = dict(FULL_NOTIFICATION, notificationChannel="Sms", smsBody=None)
    body = initialize_request(
        recipients,
        notification=notification,
        replyOptions=[{"linkURL": "https://example.com", "linkText": "Svar"}],
        externalReferences=[{"referenceType": "Generic", "referenceValue": "x"}],
    )
    before = count_all_tables(db)
    assert_error(post(client, body, sender), 400, 3004)
    assert count_all_tables(db) == before


def test_idempotency_conflict_leaves_no_row(client, sender, db):
    body = initialize_request(replyOptions=[{"linkURL": "https://example.com", "linkText": "Svar"}])
    body["idempotentKey"] = str(uuid.uuid4())
    ok(post(client, body, sender))
    before = count_all_tables(db)
    assert_error(post(client, copy.deepcopy(body), sender), 409, 1034)
    assert count_all_tables(db) == before


def test_duplicate_key_arriving_during_the_insert_is_1034_and_leaves_no_row(app, sender, db):
    """Another transaction holds the key uncommitted: the insert blocks on the unique index, then fails."""
    key = str(uuid.uuid4())
    body = initialize_request(replyOptions=[{"linkURL": "https://example.com", "linkText": "Svar"}])
    body["idempotentKey"] = key
    result: dict[str, Any] = {}
    before = count_all_tables(db)
    try:
        with db.transaction() as conn:
            conn.execute("INSERT INTO idempotency_keys (id, idempotency_type) VALUES (%s, 0)", (key,))
            worker = threading.Thread(
                target=lambda: result.update(resp=post(app.test_client(), body, sender))
            )
            worker.start()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and worker.is_alive():
                with db.transaction() as probe:
                    waiting = probe.execute(
                        """SELECT count(*) AS n FROM pg_stat_activity
                           WHERE datname = current_database() AND wait_event_type = 'Lock'"""
                    ).fetchone()["n"]
                if waiting:
                    break
                time.sleep(0.05)
        worker.join(30)
        assert_error(result["resp"], 409, 1034)
        after = count_all_tables(db)
        assert after == {**before, "idempotency_keys": before["idempotency_keys"] + 1}
    finally:
        with db.transaction() as conn:
            conn.execute("DELETE FROM idempotency_keys WHERE id = %s", (key,))


def test_database_rejection_during_insert_leaves_no_row(client, sender, db):
    """A NUL character is refused by PostgreSQL inside the insert: nothing at all may stay behind."""
    body = initialize_request([ORG_RECIPIENT, PERSON_RECIPIENT], propertyList={"k": "a\u0000b"})
    before = count_all_tables(db)
    assert post(client, body, sender).status_code == 400
    assert count_all_tables(db) == before


def test_nul_character_is_a_validation_problem_not_a_500(client, sender):
    resp = post(client, with_content(initialize_request(), messageTitle="Hei\u0000du"), sender)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert "errorCode" not in resp.get_json()


def test_existing_attachment_is_linked_to_every_recipient(client, sender, db):
    attachment_id = insert_attachment(db)
    body = initialize_request([ORG_RECIPIENT, PERSON_RECIPIENT])
    body["existingAttachments"] = [attachment_id, attachment_id]
    answer = ok(post(client, body, sender))
    assert answer["attachmentIds"] == [attachment_id]
    for correspondence_id in ids_of(answer):
        attachments = details(client, correspondence_id, sender).get_json()["content"]["attachments"]
        assert [(a["id"], a["fileName"], a["dataType"]) for a in attachments] == [
            (attachment_id, "vedlegg.pdf", "application/pdf")
        ]


# ---------------------------------------------------------------- overview / details


def test_details_show_initialized_then_ready_for_publish(client, sender):
    answer = ok(post(client, initialize_request(), sender))
    body = ok(details(client, ids_of(answer)[0], sender))
    assert [s["status"] for s in body["statusHistory"]] == ["Initialized", "ReadyForPublish"]
    assert [s["statusText"] for s in body["statusHistory"]] == ["Initialized", "ReadyForPublish"]
    assert body["status"] == "ReadyForPublish"
    assert body["sender"] == "urn:altinn:organization:identifier-no:991825827"
    assert body["content"]["messageTitle"] == "Testmelding"


def test_status_history_lists_initialized_first(client, sender):
    """Both rows share one timestamp: the order rests on time-ordered ids (20 tries: no luck involved)."""
    answer = ok(post(client, initialize_request([org_urn(400000000 + i) for i in range(20)]), sender))
    for correspondence_id in ids_of(answer):
        history = details(client, correspondence_id, sender).get_json()["statusHistory"]
        assert [s["status"] for s in history] == ["Initialized", "ReadyForPublish"], correspondence_id


def test_lists_keep_the_order_given(client, sender):
    refs = [{"referenceType": "Generic", "referenceValue": f"ref-{i}"} for i in range(10)]
    options = [{"linkURL": f"https://example.com/{i}", "linkText": f"Valg {i}"} for i in range(10)]
    answer = ok(post(client, initialize_request(externalReferences=refs, replyOptions=options), sender))
    shown = details(client, ids_of(answer)[0], sender).get_json()
    assert [r["referenceValue"] for r in shown["externalReferences"]] == [r["referenceValue"] for r in refs]
    assert [o["linkURL"] for o in shown["replyOptions"]] == [o["linkURL"] for o in options]


def test_overview_of_own_correspondence(client, sender):
    answer = ok(post(client, initialize_request(), sender))
    body = ok(overview(client, ids_of(answer)[0], sender))
    assert body["correspondenceId"] == ids_of(answer)[0]
    assert body["status"] == "ReadyForPublish"


def test_another_orgs_correspondence_is_not_found(client, sender, tokens):
    mine = ids_of(ok(post(client, initialize_request(), sender)))[0]
    stranger = tokens.headers(org=OTHER_ORG)
    assert_error(overview(client, mine, stranger), 404, 1001)
    assert_error(details(client, mine, stranger), 404, 1001)
    theirs = ids_of(ok(post(client, initialize_request(resourceId="other-owner-service"), stranger)))[0]
    assert_error(overview(client, theirs, sender), 404, 1001)
    assert_error(details(client, theirs, sender), 404, 1001)
    ok(details(client, theirs, stranger))


def test_unknown_correspondence_is_not_found(client, sender):
    assert_error(details(client, str(uuid.uuid4()), sender), 404, 1001)


# ---------------------------------------------------------------- headers


def test_responses_carry_request_id(client, sender):
    success = post(client, initialize_request(), sender)
    failure = post(client, initialize_request(resourceId="no-such-resource"), sender)
    unauthorized = post(client, initialize_request(), {})
    unsupported = post(client, "x", sender, content_type="text/plain")
    answers = (success, failure, unauthorized, unsupported)
    for resp in answers:
        assert resp.headers.get("X-Request-Id")
    assert len({r.headers["X-Request-Id"] for r in answers}) == len(answers)
    echoed = post(client, initialize_request(), {**sender, "X-Request-Id": "test-request-42"})
    assert echoed.headers["X-Request-Id"] == "test-request-42"
    assert success.headers.get("X-Content-Type-Options") == "nosniff"
    assert success.headers.get("Cache-Control") == "no-store"


# ---------------------------------------------------------------- the registry copy (REGISTRY_CACHE_SECONDS)


def test_registry_rows_are_read_again_after_a_load_in_this_process_and_after_the_ttl(app, client, sender, db):
    from app.db.repositories.registry import upsert_parties
    from app.domain.registry import Party

    urn = org_urn(310000777)
    body = with_content(initialize_request([urn]), messageTitle="Til {{recipientName}}")
    with db.transaction() as conn:
        upsert_parties(conn, [Party(urn, "Gammelt Navn AS")])

    def title() -> str:
        answer = ok(post(client, copy.deepcopy(body), sender))
        return details(client, ids_of(answer)[0], sender).get_json()["content"]["messageTitle"]

    assert title() == "Til Gammelt Navn AS"
    # Changed behind this process's back (another process's registry load): the copy is kept ...
    with db.transaction() as conn:
        conn.execute("UPDATE parties SET name = 'Nytt Navn AS' WHERE urn = %s", (urn,))
    assert title() == "Til Gammelt Navn AS"
    # ... until its TTL has passed,
    cache = app.extensions["correspondence"].registry_cache
    clock = cache._clock
    try:
        cache._clock = lambda: clock() + cache.ttl + 1
        assert title() == "Til Nytt Navn AS"
    finally:
        cache._clock = clock
    # and a load in this process is seen at once.
    with db.transaction() as conn:
        upsert_parties(conn, [Party(urn, "Tredje Navn AS")])
    assert title() == "Til Tredje Navn AS"
