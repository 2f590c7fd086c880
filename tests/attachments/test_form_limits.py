"""Multipart Initialize under hostile forms (issue 11): linear binding, bounded parts and text sizes."""

from __future__ import annotations

import io

from werkzeug.datastructures import MultiDict

from app.api.multipart import FORM_TOO_LARGE
from app.domain.limits import (
    MAX_FORM_FIELD_BYTES,
    MAX_FORM_FIELDS_TOTAL_BYTES,
    MAX_FORM_PARTS,
    MAX_PROPERTIES,
    MAX_REPLY_OPTIONS,
)
from app.schemas.form_binding import bind_form, shape_of_schema
from app.schemas.initialize import InitializeCorrespondencesRequestSchema
from tests.api.helpers import assert_validation, count_all_tables, ok
from tests.attachments.helpers import UPLOAD_URL, entry, form_fields, post_multipart

SHAPE = shape_of_schema(InitializeCorrespondencesRequestSchema())


def assert_form_too_large(resp) -> None:
    body = resp.get_json()
    assert resp.status_code == 413, (resp.status_code, body)
    assert resp.mimetype == "application/problem+json"
    assert body["status"] == 413 and body["detail"] == FORM_TOO_LARGE


def test_dictionary_keys_bind_in_one_pass_and_stay_case_insensitive():
    # 50,000 keys: the binder once compared each key with every earlier one (1.25 billion comparisons).
    items = [(f"correspondence.propertyList.key{n}", "v") for n in range(50_000)]
    items += [("correspondence.propertyList.KEY7", "second"), ("correspondence.propertyList[Key8]", "second")]
    properties = bind_form(items, SHAPE)["correspondence"]["propertyList"]
    assert len(properties) == 50_000
    assert properties["key7"] == "v" and properties["key8"] == "v"


def test_many_dictionary_fields_are_a_400_on_the_map_cap(client, sender, db):
    fields = form_fields() + [(f"correspondence.propertyList.k{n}", "v") for n in range(MAX_FORM_PARTS - 10)]
    before = count_all_tables(db)
    assert_validation(
        post_multipart(client, sender, fields, []), f"at most {MAX_PROPERTIES}", "Correspondence.PropertyList"
    )
    assert count_all_tables(db) == before


def test_more_parts_than_the_cap_is_a_413(client, sender):
    fields = form_fields() + [(f"correspondence.propertyList.k{n}", "v") for n in range(MAX_FORM_PARTS)]
    assert_form_too_large(post_multipart(client, sender, fields, []))


def test_one_text_field_over_its_size_is_a_413(client, sender):
    fields = [*form_fields(), ("correspondence.messageSender", "x" * (MAX_FORM_FIELD_BYTES + 1))]
    assert_form_too_large(post_multipart(client, sender, fields, []))


def test_text_fields_over_their_total_size_are_a_413(client, sender):
    size = MAX_FORM_FIELD_BYTES - 1024
    count = MAX_FORM_FIELDS_TOTAL_BYTES // size + 1
    fields = form_fields() + [(f"unknown{n}", "x" * size) for n in range(count)]
    assert_form_too_large(post_multipart(client, sender, fields, []))


def test_file_bytes_do_not_count_as_text_wherever_the_file_comes(client, sender):
    content = b"x" * (MAX_FORM_FIELDS_TOTAL_BYTES + 1024 * 1024)
    fields = form_fields(attachments=[entry("big.txt")])
    data = MultiDict([("attachments", (io.BytesIO(content), "big.txt")), *fields])  # the file part first
    answer = ok(client.post(UPLOAD_URL, data=data, headers=sender, content_type="multipart/form-data"))
    assert len(answer["attachmentIds"]) == 1


def test_list_caps_apply_to_forms_too(client, sender):
    fields = form_fields() + [
        (f"correspondence.replyOptions[{n}].linkURL", "https://a.no") for n in range(MAX_REPLY_OPTIONS + 1)
    ]
    assert_validation(
        post_multipart(client, sender, fields, []),
        f"at most {MAX_REPLY_OPTIONS}",
        "Correspondence.ReplyOptions",
    )
