"""GET /health and /health/ready: database and broker reachable; /health/live: the process is up."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields

from app.api.blueprint import Blueprint

blp = Blueprint("health", __name__, description="Health of the service and its dependencies")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "Healthy or Unhealthy"})
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "Per dependency: Healthy, or Unhealthy: <error type>"},
    )


@blp.route("/health", methods=["GET"])
@blp.doc(summary="Checks the database and the broker")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="A dependency does not answer")
def health():
    return _dependencies()


def _dependencies():
    services = current_app.extensions["correspondence"]
    checks = {"database": _check(services.check_database), "broker": _check(services.check_broker)}
    healthy = all(v == "Healthy" for v in checks.values())
    return {"status": "Healthy" if healthy else "Unhealthy", "checks": checks}, 200 if healthy else 503


def _check(probe) -> str:
    try:
        probe()
        return "Healthy"
    except Exception as exc:  # noqa: BLE001 - any failure of the dependency is reported, never raised
        current_app.logger.warning("health check failed: %s", exc)
        return f"Unhealthy: {type(exc).__name__}"


@blp.route("/health/live", methods=["GET"])
@blp.doc(summary="Liveness: the process is up and serving (no dependency is checked)")
@blp.response(200, HealthSchema)
def live():
    return {"status": "Healthy"}, 200


@blp.route("/health/ready", methods=["GET"])
@blp.doc(summary="Readiness: the database and the broker answer; 503 when either does not")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="A dependency does not answer")
def ready():
    return _dependencies()
