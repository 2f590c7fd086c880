"""The compiled fast path (app/schemas/compiled.py) answers exactly as marshmallow, or not at all.

Bodies are the example Initialize with random edits: keys re-cased, dropped or duplicated, values
replaced by None, by other types, by strings at and past their limits, unknown keys added. Whatever
marshmallow answers, the fast path either gives the same result (same keys, same order, same types)
or gives up; it never accepts what marshmallow rejects.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.schemas.compiled import _ordered, compiled
from app.schemas.fields import CaseInsensitiveSchema
from app.schemas.initialize import InitializeCorrespondencesRequestSchema

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "initialize.json").read_text(encoding="utf-8"))
EXAMPLE["correspondence"]["content"]["attachments"] = [
    {"fileName": "a.pdf", "sendersReference": "ref", "checksum": None, "expirationInDays": 3}
]
EXAMPLE["correspondence"]["externalReferences"] = [{"referenceType": "Generic", "referenceValue": "x"}]
EXAMPLE["correspondence"]["notification"]["customRecipients"] = [{"emailAddress": "a@example.com"}]
SCHEMA = InitializeCorrespondencesRequestSchema()
FAST = compiled(SCHEMA)

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["", " ", "x", "0", "Email", "sms", "2030-01-01", "2030-01-01T00:00:00Z", "nb", "true"]),
    st.sampled_from(["DialogportenTransmissionId", "DialogportenTransmissionType", "Generic", "Information"]),
    st.sampled_from([256, 4096, 4097, 30001]).map(lambda n: "a" * n),
    st.just([]),
    st.just([None]),
    st.just({}),
    st.just(["urn:altinn:organization:identifier-no:313721779"]),
    st.just("00000000-0000-0000-0000-000000000000"),
    st.just("6f3c0e5e-2b1a-4a8e-9a53-0c1d2e3f4a5b"),
).map(copy.deepcopy)  # a fresh list or object each time: later edits must not change the strategy


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _parent(body: Any, path: tuple) -> Any:
    for step in path[:-1]:
        body = body[step]
    return body


@st.composite
def edited_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(body)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(body, path), path[-1]
        edit = draw(st.sampled_from(["replace", "drop", "recase", "unknown", "twin"]))
        if isinstance(parent, list):
            parent[last] = draw(_VALUES) if edit != "drop" else parent[last]
            if edit == "drop":
                del parent[last]
        elif edit == "replace":
            parent[last] = draw(_VALUES)
        elif edit == "drop":
            del parent[last]
        elif edit == "recase" and isinstance(last, str):
            parent[draw(st.sampled_from([last.upper(), last.lower(), last.swapcase()]))] = parent.pop(last)
        elif edit == "unknown":
            parent["zzUnknown"] = draw(_VALUES)
        elif edit == "twin" and isinstance(last, str):  # the same key in another case, as well
            parent[last.swapcase()] = draw(_VALUES)
    return body


def _marshmallow(body: dict[str, Any]) -> Any:
    try:
        return _ordered(SCHEMA.load(body))
    except ValidationError:
        return "rejected"


def test_the_example_takes_the_fast_path() -> None:
    result = FAST(copy.deepcopy(EXAMPLE))
    assert result is not None
    assert _ordered(result) == _marshmallow(copy.deepcopy(EXAMPLE))


@settings(max_examples=1500, deadline=None, database=None)
@given(edited_bodies())
def test_fast_path_answers_as_marshmallow_or_gives_up(body: dict[str, Any]) -> None:
    fast = FAST(copy.deepcopy(body))
    expected = _marshmallow(copy.deepcopy(body))
    if fast is not None:
        assert expected != "rejected", "the fast path accepted what marshmallow rejects"
        assert _ordered(fast) == expected


def test_property_list_keeps_its_key_order() -> None:
    body = copy.deepcopy(EXAMPLE)
    body["correspondence"]["propertyList"] = {"b": "1", "a": "2", "c": "3"}
    assert list(FAST(body)["correspondence"]["property_list"]) == ["b", "a", "c"]


def test_an_exact_case_key_wins_over_its_twin() -> None:
    body = copy.deepcopy(EXAMPLE)
    body["correspondence"] = {"SENDERSREFERENCE": "twin", **body["correspondence"]}
    assert FAST(body)["correspondence"]["senders_reference"] == "1"


def test_schemas_with_other_hooks_are_left_to_marshmallow() -> None:
    from marshmallow import post_load

    class WithPostLoad(CaseInsensitiveSchema):
        name = fields.String()

        @post_load
        def _wrap(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return {"wrapped": data}

    class Plain(Schema):
        class Meta:
            unknown = EXCLUDE

        name = fields.String()

    assert compiled(WithPostLoad())({"name": "x"}) is None
    assert compiled(Plain())({"Name": "x", "name": "y"}) == {"name": "y"}  # exact keys: not case-insensitive


@pytest.mark.parametrize("broken", [[], "text", None, {"correspondence": []}])
def test_what_is_not_an_object_is_left_to_marshmallow(broken: Any) -> None:
    assert FAST(broken) is None


@pytest.mark.parametrize(("value", "accepted"), [("Information", True), ("x", False)])
def test_schema_validators_run_on_the_fast_path(value: str, accepted: bool) -> None:
    body = copy.deepcopy(EXAMPLE)
    body["correspondence"]["externalReferences"] = [
        {"referenceType": "DialogportenTransmissionType", "referenceValue": value}
    ]
    assert (FAST(copy.deepcopy(body)) is not None) is accepted
    assert (_marshmallow(body) != "rejected") is accepted


@pytest.mark.parametrize(("value", "accepted"), [(1, True), (0, False), ("x", False)])
def test_a_field_converted_directly_still_runs_its_validators(value: Any, accepted: bool) -> None:
    """Fields without a fast path of their own are converted by their `_deserialize` and checked by
    their validators, as marshmallow's `Field.deserialize` does."""

    class Counted(Schema):
        class Meta:
            unknown = EXCLUDE

        count = fields.Integer(validate=validate.Range(min=1))
        flag = fields.Boolean()

    fast = compiled(Counted())
    data = {"count": value, "flag": True}
    if accepted:
        assert fast(data) == Counted().load(data) == {"count": value, "flag": True}
    else:
        assert fast(data) is None
        with pytest.raises(ValidationError):
            Counted().load(data)
