"""Hostile input (issue 11): every answer a clear 4xx problem, the same every time, nothing stored."""

from __future__ import annotations

import io
import json
import time
import uuid

import pytest

from app.api.json_body import DEPTH_MESSAGE
from app.domain.limits import (
    MAX_ATTACHMENT_ENTRIES,
    MAX_CUSTOM_NOTIFICATION_RECIPIENTS,
    MAX_CUSTOM_RECIPIENTS,
    MAX_EXTERNAL_REFERENCES,
    MAX_FREE_TEXT_LENGTH,
    MAX_JSON_DEPTH,
    MAX_PROPERTIES,
    MAX_RECIPIENTS,
    MAX_REPLY_OPTIONS,
)
from tests.api.helpers import URL, assert_error, assert_validation, count_all_tables, ok, post
from tests.factories import initialize_request, with_content

# ---------------------------------------------------------------- tokens whose times are not numbers


@pytest.mark.parametrize(
    "claim,value",
    [
        ("exp", "EXP"),
        ("nbf", "NOW"),
        ("iat", "NOW"),
        ("exp", True),
        ("exp", [1]),
        ("nbf", {"t": 1}),
        ("iat", None),
        ("exp", 10**400),
    ],
)
def test_token_times_that_are_not_numbers_are_refused_every_time(client, tokens, claim, value):
    now = int(time.time())
    value = {"EXP": str(now + 600), "NOW": str(now)}.get(value, value) if isinstance(value, str) else value
    headers = tokens.headers(**{claim: value})
    for _ in range(3):  # the first use once answered; later ones hit the verified-token cache
        resp = post(client, initialize_request(), headers)
        assert_error(resp, 401, 4001)
        assert resp.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_with_numeric_times_is_still_cached_and_accepted(client, tokens):
    now = time.time()
    headers = tokens.headers(exp=now + 600.5, nbf=now - 1, iat=now - 1)
    for _ in range(2):
        ok(post(client, initialize_request(), headers))


# ---------------------------------------------------------------- deep JSON


def _with_unknown(levels: int) -> str:
    """A valid request plus an unknown property holding `levels` nested lists."""
    body = json.dumps(initialize_request())
    return body[:-1] + ', "unknownProperty": ' + "[" * levels + "]" * levels + "}"


@pytest.mark.parametrize("levels", [970, 5000, 100_000])
def test_deep_json_in_an_unknown_property_is_a_400_before_anything_runs(client, sender, db, levels):
    before = count_all_tables(db)
    assert_validation(post(client, _with_unknown(levels), sender), DEPTH_MESSAGE, "$")
    assert count_all_tables(db) == before


def test_the_depth_limit_is_64_levels_counting_the_body_itself(client, sender):
    ok(post(client, _with_unknown(MAX_JSON_DEPTH - 1), sender))
    assert_validation(post(client, _with_unknown(MAX_JSON_DEPTH), sender), DEPTH_MESSAGE)


def test_deep_json_in_a_known_property_and_on_other_endpoints(client, sender):
    deep = '{"a":' * 80 + "1" + "}" * 80
    body = json.dumps(initialize_request(propertyList={"k": "v"})).replace('{"k": "v"}', deep)
    assert_validation(post(client, body, sender), DEPTH_MESSAGE)
    resp = client.post(
        "/correspondence/api/v1/attachment",
        headers=sender,
        content_type="application/json",
        data='{"resourceId": "test-service", "sendersReference": "r", "x": ' + deep + "}",
    )
    assert_validation(resp, DEPTH_MESSAGE)


def test_brackets_inside_strings_do_not_count_as_depth(client, sender):
    ok(post(client, initialize_request(sendersReference="[" * 500 + "{" * 500), sender))


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_numbers_json_does_not_have_are_refused(client, sender, number):
    resp = client.post(
        "/correspondence/api/v1/attachment",
        headers=sender,
        content_type="application/json",
        data='{"resourceId": "test-service", "sendersReference": "r", "expirationInDays": ' + number + "}",
    )
    assert_validation(resp, "could not be parsed", "$")


def test_surrogates_smuggled_as_bytes_are_refused(client, sender):
    body = (
        json.dumps(with_content(initialize_request(), messageTitle="@"))
        .encode()
        .replace(b"@", b"\xed\xa0\x80")
    )
    assert_validation(post(client, body, sender), "could not be parsed")


def test_a_backslash_u0000_that_is_text_is_not_a_nul(client, sender):
    ok(post(client, with_content(initialize_request(), messageSummary="C:\\u0000"), sender))


# ---------------------------------------------------------------- every list and map is bounded


def _notification(**extra):
    return {"notificationChannel": "Email", "emailSubject": "s", "emailBody": "b", **extra}


def _set(body, path, value):
    target = body
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    return body


CAPS = [  # (JSON path, one entry, cap, error key)
    (
        ("correspondence", "replyOptions"),
        {"linkURL": "https://example.no"},
        MAX_REPLY_OPTIONS,
        "Correspondence.ReplyOptions",
    ),
    (
        ("correspondence", "externalReferences"),
        {"referenceValue": "x", "referenceType": "Generic"},
        MAX_EXTERNAL_REFERENCES,
        "Correspondence.ExternalReferences",
    ),
    (
        ("correspondence", "content", "attachments"),
        {"sendersReference": "r"},
        MAX_ATTACHMENT_ENTRIES,
        "Correspondence.Content.Attachments",
    ),
    (("existingAttachments",), None, MAX_ATTACHMENT_ENTRIES, "ExistingAttachments"),
    (("recipients",), None, MAX_RECIPIENTS, "Recipients"),
    (
        ("correspondence", "notification", "customRecipients"),
        {"emailAddress": "a@example.no"},
        MAX_CUSTOM_RECIPIENTS,
        "Correspondence.Notification.CustomRecipients",
    ),
    (
        ("correspondence", "notification", "customNotificationRecipients"),
        {"recipientToOverride": "x", "recipients": []},
        MAX_CUSTOM_NOTIFICATION_RECIPIENTS,
        "Correspondence.Notification.CustomNotificationRecipients",
    ),
]


@pytest.mark.parametrize("path,entry,cap,key", CAPS, ids=[c[3] for c in CAPS])
def test_a_list_over_its_cap_is_a_400_naming_the_field(client, sender, db, path, entry, cap, key):
    body = initialize_request()
    if path[-1] in ("customRecipients", "customNotificationRecipients"):
        body["correspondence"]["notification"] = _notification()
    if path == ("recipients",):
        entries = [f"urn:altinn:organization:identifier-no:{n:09d}" for n in range(cap + 1)]
    elif path == ("existingAttachments",):
        entries = [str(uuid.uuid4()) for _ in range(cap + 1)]
    else:
        entries = [entry] * (cap + 1)
    before = count_all_tables(db)
    assert_validation(post(client, _set(body, path, entries), sender), f"at most {cap}", key)
    assert count_all_tables(db) == before


def test_custom_notification_recipients_inner_list_is_capped(client, sender):
    inner = [{"emailAddress": "a@example.no"}] * (MAX_CUSTOM_RECIPIENTS + 1)
    body = initialize_request(
        notification=_notification(
            customNotificationRecipients=[{"recipientToOverride": "x", "recipients": inner}]
        )
    )
    assert_validation(
        post(client, body, sender),
        f"at most {MAX_CUSTOM_RECIPIENTS}",
        "Correspondence.Notification.CustomNotificationRecipients[0].Recipients",
    )


def test_property_list_over_its_cap_is_a_400(client, sender):
    properties = {f"k{n}": "v" for n in range(MAX_PROPERTIES + 1)}
    assert_validation(
        post(client, initialize_request(propertyList=properties), sender),
        f"at most {MAX_PROPERTIES}",
        "Correspondence.PropertyList",
    )


def test_100000_reply_options_in_a_small_body_store_nothing(client, sender, db):
    body = json.dumps(
        initialize_request(replyOptions=[{"linkURL": "https://a.no"}] * 100_000), separators=(",", ":")
    )
    before = count_all_tables(db)
    resp = post(client, body, sender)
    assert_validation(resp, f"at most {MAX_REPLY_OPTIONS}", "Correspondence.ReplyOptions")
    assert count_all_tables(db) == before


def test_lists_at_their_cap_are_accepted(client, sender):
    body = initialize_request(
        replyOptions=[{"linkURL": f"https://a.no/{n}"} for n in range(MAX_REPLY_OPTIONS)],
        propertyList={f"k{n}": "v" for n in range(MAX_PROPERTIES)},
    )
    ok(post(client, body, sender))


@pytest.mark.parametrize("field", ["linkText", "referenceValue"])
def test_free_text_without_a_spec_limit_is_capped(client, sender, field):
    long = "x" * (MAX_FREE_TEXT_LENGTH + 1)
    if field == "linkText":
        body = initialize_request(replyOptions=[{"linkURL": "https://a.no", "linkText": long}])
    else:
        body = initialize_request(externalReferences=[{"referenceValue": long, "referenceType": "Generic"}])
    assert_validation(post(client, body, sender), str(MAX_FREE_TEXT_LENGTH))


# ---------------------------------------------------------------- smaller things


def test_405_carries_allow_and_is_problem_details(client, sender):
    resp = client.put(URL, headers=sender, json={})
    assert resp.status_code == 405
    assert resp.mimetype == "application/problem+json"
    assert set(resp.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert resp.get_json()["status"] == 405


@pytest.mark.parametrize("days", [1.5, 14.0, True, "1.5", "14 days", [14]])
def test_expiration_in_days_must_be_a_whole_number(client, sender, days):
    resp = client.post(
        "/correspondence/api/v1/attachment",
        headers=sender,
        json={
            "resourceId": "test-service",
            "fileName": "a.txt",
            "sendersReference": "r",
            "expirationInDays": days,
        },
    )
    assert_validation(resp, "Not a valid integer.", "ExpirationInDays")


@pytest.mark.parametrize("days", [14, "14"])
def test_expiration_in_days_as_an_integer_or_its_digits(client, sender, days):
    resp = client.post(
        "/correspondence/api/v1/attachment",
        headers=sender,
        json={
            "resourceId": "test-service",
            "fileName": "a.txt",
            "sendersReference": "r",
            "expirationInDays": days,
        },
    )
    assert resp.status_code == 200, resp.get_json()


def _chunked(client, body: bytes, headers):
    """A body without Content-Length, as gunicorn hands over a chunked one (wsgi.input_terminated)."""
    return client.post(
        URL,
        input_stream=io.BytesIO(body),
        environ_overrides={"wsgi.input_terminated": True},
        headers={**headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )


def test_a_chunked_body_over_the_limit_is_413_not_a_parse_error(client, sender, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = json.dumps(initialize_request(sendersReference="x" * 100)).encode()
    padded = body[:-1] + b"," + b'"pad": "' + b"x" * limit + b'"}'
    resp = _chunked(client, padded, sender)
    assert resp.status_code == 413, resp.get_json()
    assert resp.mimetype == "application/problem+json"
    ok(_chunked(client, body, sender))


@pytest.mark.parametrize(
    "when", ["1900-01-01T00:00:00+01:00", "2030-06-01t12:00:00z", "9000-12-31T23:59:59-05:00"]
)
def test_dates_in_the_documented_years_are_read_as_written(client, sender, when):
    ok(post(client, initialize_request(requestedPublishTime=when), sender))


def test_validation_matches_the_documented_patterns(client, sender):
    assert_validation(
        post(client, initialize_request(resourceId="urn:altinn:resource:a:b"), sender),
        "Invalid Resource identifier format",
        "Correspondence.ResourceId",
    )
    body = initialize_request()
    body["recipients"] = [None]
    assert_validation(
        post(client, body, sender), "Recipients can not contain null or empty values", "Recipients"
    )
    # U+001C is no white space to .NET (nor to the documented pattern), though Python's isspace says so.
    assert (
        post(client, with_content(initialize_request(), messageTitle="\x1c"), sender)
        .get_json()
        .get("errors", {})
        .get("Correspondence.Content.MessageTitle")
        is None
    )
