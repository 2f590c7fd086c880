"""GET /health: database and broker reachable."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

blp = Blueprint("health", __name__, description="Health of the service and its dependencies")


@blp.route("/health", methods=["GET"])
@blp.doc(summary="Checks the database and the broker")
def health():
    services = current_app.extensions["correspondence"]
    checks = {"database": _check(services.check_database), "broker": _check(services.check_broker)}
    healthy = all(v == "Healthy" for v in checks.values())
    return {"status": "Healthy" if healthy else "Unhealthy", "checks": checks}, 200 if healthy else 503


def _check(probe) -> str:
    try:
        probe()
        return "Healthy"
    except Exception as exc:  # any failure of the dependency is reported, never raised
        current_app.logger.warning("health check failed: %s", exc)
        return f"Unhealthy: {type(exc).__name__}"
