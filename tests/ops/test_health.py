"""Liveness (the process is up) and readiness (database and broker answer)."""

from __future__ import annotations

from dataclasses import replace


def test_live_answers_without_touching_dependencies(settings):
    from app.web import create_app

    app = create_app(
        replace(
            settings, redis_url="redis://127.0.0.1:1/0", database_url="postgresql://nobody@127.0.0.1:1/none"
        )
    )
    resp = app.test_client().get("/health/live")
    assert resp.status_code == 200 and resp.get_json() == {"status": "Healthy"}


def test_ready_when_database_and_broker_answer(client):
    resp = client.get("/health/ready")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "Healthy", "checks": {"database": "Healthy", "broker": "Healthy"}}


def test_not_ready_without_the_broker(settings):
    from app.web import create_app

    app = create_app(replace(settings, redis_url="redis://127.0.0.1:1/0"))
    resp = app.test_client().get("/health/ready")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "Unhealthy"
    assert body["checks"]["database"] == "Healthy" and body["checks"]["broker"].startswith("Unhealthy")


def test_not_ready_without_the_database(app, monkeypatch):
    services = app.extensions["correspondence"]

    def database_down() -> None:
        raise ConnectionError("database down")

    monkeypatch.setattr(services, "check_database", database_down)
    resp = app.test_client().get("/health/ready")
    assert resp.status_code == 503
    assert resp.get_json()["checks"] == {"database": "Unhealthy: ConnectionError", "broker": "Healthy"}
    assert app.test_client().get("/health/live").status_code == 200
