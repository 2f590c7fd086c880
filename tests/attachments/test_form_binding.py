"""The multipart form binder (SPEC.md §3.3): ASP.NET-style names → the JSON body's nested dict."""

from __future__ import annotations

import pytest

from app.schemas.form_binding import bind_form, parse_name, shape_of_schema
from app.schemas.initialize import InitializeCorrespondencesRequestSchema

SHAPE = shape_of_schema(InitializeCorrespondencesRequestSchema())


def bind(*items: tuple[str, str]):
    return bind_form(list(items), SHAPE)


def test_dotted_paths_are_case_insensitive_and_come_out_as_the_json_names():
    assert bind(
        ("Correspondence.ResourceId", "svc"),
        ("correspondence.CONTENT.messagetitle", "T"),
        ("correspondence.content.MessageBody", "B"),
    ) == {"correspondence": {"resourceId": "svc", "content": {"messageTitle": "T", "messageBody": "B"}}}


def test_indexed_lists_of_values_and_of_objects():
    assert bind(
        ("recipients[0]", "a"),
        ("recipients[1]", "b"),
        ("correspondence.content.attachments[1].fileName", "b.txt"),
        ("correspondence.content.attachments[0].fileName", "a.txt"),
        ("correspondence.content.attachments[0].sendersReference", "r"),
    ) == {
        "recipients": ["a", "b"],
        "correspondence": {
            "content": {
                "attachments": [{"fileName": "a.txt", "sendersReference": "r"}, {"fileName": "b.txt"}]
            }
        },
    }


def test_a_gap_in_the_indexes_ends_the_list():
    assert bind(("recipients[0]", "a"), ("recipients[2]", "c")) == {"recipients": ["a"]}
    assert bind(("recipients[1]", "b")) == {"recipients": []}


def test_a_repeated_name_binds_a_list_and_wins_over_indexes():
    assert bind(("existingAttachments", "x"), ("existingAttachments", "y")) == {
        "existingAttachments": ["x", "y"]
    }
    assert bind(("recipients[0]", "a"), ("recipients", "z")) == {"recipients": ["z"]}


def test_request_prefix_is_optional_and_binds_exclusively_when_present():
    assert bind(("request.Correspondence.SendersReference", "1")) == {
        "correspondence": {"sendersReference": "1"}
    }
    assert bind(("request.recipients[0]", "a"), ("recipients[0]", "b")) == {"recipients": ["a"]}


def test_property_list_by_dot_or_bracket_keeps_the_key_case():
    assert bind(
        ("correspondence.propertyList.CaseNumber", "123"),
        ("correspondence.PropertyList[Other.Key]", "x"),
        ("correspondence.propertyList.casenumber", "dup"),
    ) == {"correspondence": {"propertyList": {"CaseNumber": "123", "Other.Key": "x"}}}


def test_empty_values_are_null_booleans_are_normalized_first_value_wins():
    assert bind(
        ("correspondence.messageSender", ""),
        ("correspondence.isConfirmationNeeded", "True"),
        ("correspondence.sendersReference", "first"),
        ("correspondence.SendersReference", "second"),
    ) == {
        "correspondence": {"messageSender": None, "isConfirmationNeeded": "true", "sendersReference": "first"}
    }


def test_nested_lists_inside_objects():
    assert bind(
        ("correspondence.notification.customRecipients[0].emailAddress", "a@b.no"),
        ("correspondence.notification.notificationChannel", "Email"),
    ) == {
        "correspondence": {
            "notification": {"customRecipients": [{"emailAddress": "a@b.no"}], "notificationChannel": "Email"}
        }
    }


def test_names_that_match_nothing_are_ignored():
    assert bind(
        ("unknown", "x"),
        ("correspondence.nope.deeper", "x"),
        ("recipients[x]", "x"),
        ("recipients[01]", "x"),
        ("correspondence", '{"resourceId": "svc"}'),
        ("correspondence.resourceId[0]", "x"),
        ("", "x"),
    ) == {"correspondence": {}, "recipients": []}


@pytest.mark.parametrize(
    "name, expected",
    [
        ("a.b[0].c", [("name", "a"), ("name", "b"), ("index", "0"), ("name", "c")]),
        ("p[key with.dot]", [("name", "p"), ("index", "key with.dot")]),
        ("a..b", None),
        (".a", None),
        ("a.", None),
        ("[0]", None),
        ("a[0]b", None),
        ("a[0", None),
        ("", None),
    ],
)
def test_parse_name(name, expected):
    assert parse_name(name) == expected


def test_bound_form_loads_with_the_json_schema():
    data = bind(
        ("correspondence.resourceId", "test-service"),
        ("correspondence.sendersReference", "1"),
        ("correspondence.content.messageTitle", "T"),
        ("correspondence.content.messageBody", "B"),
        ("correspondence.content.attachments[0].fileName", "a.txt"),
        ("correspondence.content.attachments[0].sendersReference", "r"),
        ("correspondence.content.attachments[0].expirationInDays", "3"),
        ("correspondence.content.attachments[0].dataLocationType", "existingexternalstorage"),
        ("correspondence.dueDateTime", "2099-01-01T00:00:00Z"),
        ("correspondence.isConfidential", "false"),
        ("correspondence.externalReferences[0].referenceType", "1"),
        ("correspondence.externalReferences[0].referenceValue", "x"),
        ("recipients[0]", "urn:altinn:organization:identifier-no:313721779"),
    )
    loaded = InitializeCorrespondencesRequestSchema().load(data)
    attachment = loaded["correspondence"]["content"]["attachments"][0]
    assert (attachment["expiration_in_days"], attachment["data_location_type"]) == (3, 2)
    assert loaded["correspondence"]["external_references"] == [{"reference_type": 1, "reference_value": "x"}]
    assert loaded["correspondence"]["is_confidential"] is False
