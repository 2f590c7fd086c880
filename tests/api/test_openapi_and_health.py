"""OpenAPI document, Swagger UI and /health (DESIGN.md §2)."""
from __future__ import annotations


def test_openapi_documents_the_endpoints(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in ("/correspondence/api/v1/correspondence",
                 "/correspondence/api/v1/correspondence/{correspondence_id}",
                 "/correspondence/api/v1/correspondence/{correspondence_id}/details"):
        assert path in paths, sorted(paths)
    request = paths["/correspondence/api/v1/correspondence"]["post"]["requestBody"]["content"]["application/json"]
    assert "$ref" in request["schema"] or "properties" in request["schema"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_swagger_ui_is_served(client):
    resp = client.get("/docs")
    assert resp.status_code == 200 and b"swagger" in resp.data.lower()


def test_health_checks_database_and_broker(client):
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.get_json()["checks"] == {"database": "Healthy", "broker": "Healthy"}
