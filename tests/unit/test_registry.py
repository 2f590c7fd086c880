"""The registry file of DESIGN.md §5 and the resource title rules (SPEC.md §5.3 step 2)."""

from __future__ import annotations

import re

import pytest

from app.domain.recipients import RECIPIENT_FORMAT_MESSAGE, RECIPIENT_SSN_MESSAGE
from app.domain.registry import (
    Party,
    RegistryFileError,
    Resource,
    parse_registry_file,
    strip_resource_prefix,
)

# DESIGN.md §5, the example file
EXAMPLE = {
    "resources": [
        {
            "id": "demo-correspondence-service",
            "owner": "991825827",
            "ownerCode": "digdir",
            "ownerName": "Digitaliseringsdirektoratet",
            "type": "CorrespondenceService",
            "title": {"nb": "Demotjeneste", "en": "Demo service"},
        }
    ],
    "parties": [
        {
            "id": "urn:altinn:organization:identifier-no:310654329",
            "name": "Eksempel AS",
            "emails": ["post@eksempel.no"],
            "mobiles": ["+4798765432"],
        },
        {
            "id": "urn:altinn:person:identifier-no:01019010046",
            "name": "Ola Nordmann",
            "emails": [],
            "mobiles": ["+4791234567"],
            "reserved": True,
        },
    ],
}


def refused(data: object, message: str) -> None:
    with pytest.raises(RegistryFileError, match=f"^{re.escape(message)}$"):
        parse_registry_file(data)


def test_the_design_example() -> None:
    resources, parties = parse_registry_file(EXAMPLE)
    assert resources == [
        Resource(
            id="demo-correspondence-service",
            owner_org_number="991825827",
            owner_code="digdir",
            owner_name="Digitaliseringsdirektoratet",
            resource_type="CorrespondenceService",
            title={"nb": "Demotjeneste", "en": "Demo service"},
            confidentiality="NotConfidential",
            minimum_auth_level=0,
        )
    ]
    assert parties == [
        Party(
            urn="urn:altinn:organization:identifier-no:310654329",
            name="Eksempel AS",
            emails=["post@eksempel.no"],
            mobiles=["+4798765432"],
            reserved=False,
        ),
        Party(
            urn="urn:altinn:person:identifier-no:01019010046",
            name="Ola Nordmann",
            emails=[],
            mobiles=["+4791234567"],
            reserved=True,
        ),
    ]


def test_resource_defaults_and_normalization() -> None:
    (resource,), parties = parse_registry_file(
        {
            "resources": [
                {
                    "id": "urn:altinn:resource:r1",
                    "owner": 991825827,
                    "title": "Tittel",
                    "confidentiality": "Confidential",
                    "minimumAuthLevel": "3",
                }
            ]
        }
    )
    assert parties == []
    assert resource == Resource(
        id="r1",
        owner_org_number="991825827",
        owner_code=None,
        owner_name=None,
        resource_type="CorrespondenceService",
        title={"nb": "Tittel"},
        confidentiality="Confidential",
        minimum_auth_level=3,
    )


def test_resource_title_keys_are_lower_case_and_values_text() -> None:
    (resource,), _ = parse_registry_file(
        {"resources": [{"id": "r", "owner": "991825827", "type": "AltinnApp", "title": {"NB": 7, "En": "x"}}]}
    )
    assert (resource.title, resource.resource_type) == ({"nb": "7", "en": "x"}, "AltinnApp")
    (resource,), _ = parse_registry_file(
        {
            "resources": [
                {
                    "id": "r",
                    "owner": "991825827",
                    "title": None,
                    "type": None,
                    "confidentiality": None,
                    "minimumAuthLevel": None,
                }
            ]
        }
    )
    assert (
        resource.title,
        resource.resource_type,
        resource.confidentiality,
        resource.minimum_auth_level,
    ) == ({}, "CorrespondenceService", "NotConfidential", 0)


def test_party_defaults_and_normalization() -> None:
    _, (org, person) = parse_registry_file(
        {
            "resources": None,
            "parties": [
                {"id": "0192:310654329"},
                {"id": "08900499559", "emails": None, "mobiles": [98765432], "reserved": 1},
            ],
        }
    )
    assert org == Party(urn="urn:altinn:organization:identifier-no:310654329", name="310654329")
    assert person == Party(
        urn="urn:altinn:person:identifier-no:08900499559",
        name="08900499559",
        emails=[],
        mobiles=["98765432"],
        reserved=True,
    )


def test_empty_file_is_fine() -> None:
    assert parse_registry_file({}) == ([], [])


@pytest.mark.parametrize("data", [[], "x", None])
def test_file_must_hold_an_object(data: object) -> None:
    refused(data, "the registry file must hold a JSON object")


@pytest.mark.parametrize(
    "owner",
    [
        "12345678",
        "1234567890",
        "99182582a",
        pytest.param(
            "٩٩١٨٢٥٨٢٧",
            marks=[
                pytest.mark.xfail(
                    strict=True,
                    reason="str.isdigit() accepts non-ASCII digits (Arabic-Indic here); "
                    "recipients.py uses [0-9] for that reason",
                )
            ],
        ),
    ],
)
def test_resource_owner_must_be_nine_digits(owner: str) -> None:
    refused(
        {"resources": [{"id": "a", "owner": "991825827"}, {"id": "b", "owner": owner}]},
        "resources[1].owner must be a 9-digit organization number",
    )


@pytest.mark.parametrize(
    ("item", "detail"),
    [
        ({"owner": "991825827"}, "'id'"),
        ({"id": "r"}, "'owner'"),
        (5, "'int' object is not subscriptable"),
        ({"id": "r", "owner": "991825827", "title": ["nb"]}, "'list' object has no attribute 'items'"),
    ],
)
def test_bad_resource(item: object, detail: str) -> None:
    refused({"resources": [item]}, f"resources[0] is missing or has a bad field: {detail}")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"name": "x"}, "parties[0] is missing or has a bad field: 'id'"),
        (5, "parties[0] is missing or has a bad field: 'int' object is not subscriptable"),
        ({"id": "123456789"}, f"parties[0].id: {RECIPIENT_FORMAT_MESSAGE}"),
        ({"id": "08900499558"}, f"parties[0].id: {RECIPIENT_SSN_MESSAGE}"),
    ],
)
def test_bad_party(item: object, message: str) -> None:
    refused({"parties": [item]}, message)


def test_bad_party_is_named_by_its_index() -> None:
    refused(
        {"parties": [{"id": "0192:310654329"}, {"id": "x"}]}, f"parties[1].id: {RECIPIENT_FORMAT_MESSAGE}"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("urn:altinn:resource:demo", "demo"),
        ("demo", "demo"),
        ("urn:altinn:resource:", ""),
        ("x-urn:altinn:resource:demo", "x-urn:altinn:resource:demo"),
    ],
)
def test_strip_resource_prefix(value: str, expected: str) -> None:
    assert strip_resource_prefix(value) == expected


def resource(title: dict[str, str]) -> Resource:
    return Resource("res-id", "991825827", None, None, "CorrespondenceService", title)


@pytest.mark.parametrize(
    ("title", "language", "expected"),
    [
        ({"nb": "Bokmål", "en": "English"}, "en", "English"),
        ({"nb": "Bokmål", "en": "English"}, "EN", "English"),
        ({"nb": "Bokmål", "en": "English"}, "nn", "Bokmål"),
        ({"nb": "Bokmål", "en": "English"}, None, "Bokmål"),
        ({"nb": "Bokmål", "en": "English"}, "", "Bokmål"),
        ({"en": "English", "nn": "Nynorsk"}, "se", "English"),
        ({"en": "English", "nb": "Bokmål"}, "se", "Bokmål"),
        ({}, "nb", "res-id"),
    ],
)
def test_resource_title_in_a_language(title: dict[str, str], language: str | None, expected: str) -> None:
    assert resource(title).title_in(language) == expected
