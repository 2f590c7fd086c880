"""OpenAPI document, Swagger UI and /health (DESIGN.md §2)."""

from __future__ import annotations


def test_openapi_documents_the_endpoints(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in (
        "/correspondence/api/v1/correspondence",
        "/correspondence/api/v1/correspondence/{correspondence_id}",
        "/correspondence/api/v1/correspondence/{correspondence_id}/details",
    ):
        assert path in paths, sorted(paths)
    request = paths["/correspondence/api/v1/correspondence"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    assert "$ref" in request["schema"] or "properties" in request["schema"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_swagger_ui_is_served(client):
    resp = client.get("/docs")
    assert resp.status_code == 200 and b"swagger" in resp.data.lower()


def test_health_checks_database_and_broker(client):
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.get_json()["checks"] == {"database": "Healthy", "broker": "Healthy"}


def test_every_error_is_documented_as_problem_details(client):
    spec = client.get("/openapi.json").get_json()
    errors = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if not status.isdigit() or int(status) < 400 or path.startswith("/health"):
                    continue
                content = response.get("content", {})
                expected = "text/plain" if status == "406" else "application/problem+json"
                assert expected in content, (method, path, status, response)
                errors += 1
            assert "default" not in operation["responses"], (method, path)
    assert errors > 50


def test_openapi_constraints_are_the_validation_ones(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    request = schemas["InitializeCorrespondencesRequest"]["properties"]
    assert (request["recipients"]["minItems"], request["recipients"]["maxItems"]) == (1, 500)
    assert "pattern" in request["recipients"]["items"] and "nullable" not in request["recipients"]["items"]
    base = schemas["BaseCorrespondence"]["properties"]
    assert (base["resourceId"]["minLength"], base["resourceId"]["maxLength"]) == (1, 255)
    assert base["resourceId"]["pattern"] == "^(urn:altinn:resource:)?[^:]{1,255}$"
    years = "^(19[0-9]{2}|[2-8][0-9]{3}|9000)-"
    assert base["requestedPublishTime"]["pattern"] == base["dueDateTime"]["pattern"] == years
    assert base["propertyList"]["maxProperties"] == 10 and "maxLength" not in base["propertyList"]
    assert base["replyOptions"]["maxItems"] == 100 and base["externalReferences"]["maxItems"] == 10
    content = schemas["Content"]["properties"]
    assert (content["messageTitle"]["minLength"], content["messageTitle"]["maxLength"]) == (1, 255)
    assert (content["messageBody"]["minLength"], content["messageBody"]["maxLength"]) == (1, 30000)
    days = schemas["InitializeAttachment"]["properties"]["expirationInDays"]
    assert days["type"] == "integer" and days["maximum"] == 36500
    assert schemas["InitializeSharedAttachment"]["properties"]["resourceId"]["minLength"] == 1
    names, numbers = schemas["ExternalReference"]["properties"]["referenceType"]["anyOf"]
    assert "DialogportenTransmissionId" not in names["enum"] and 5 not in numbers["enum"]


def test_initialize_is_served_without_the_documenting_wrappers_and_documented_all_the_same(app, client):
    """The hot path skips flask-smorest's `doc`/`response` wrappers (app.api.blueprint `plain`); the
    OpenAPI document still comes from the decorated view: every status it answers is there."""
    # The first code a request runs is the authentication wrapper (app/api/auth.py), not
    # flask-smorest's (flask_smorest/blueprint.py): functools.wraps copies names, not code.
    served = app.view_functions["correspondence.initialize"].__code__.co_filename
    assert served.endswith("app/api/auth.py"), served
    operation = client.get("/openapi.json").get_json()["paths"]["/correspondence/api/v1/correspondence"][
        "post"
    ]
    assert set(operation["responses"]) >= {
        "200",
        "400",
        "401",
        "403",
        "404",
        "406",
        "409",
        "413",
        "415",
        "422",
        "429",
        "503",
    }
    assert operation["summary"] == "Initialize one correspondence per recipient"
