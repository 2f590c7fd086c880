"""Request hooks: the request id in the logging context, one JSON access-log line per request,
request counts and latency for /metrics (by route and status)."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from app.api import metrics
from app.api.problems import request_id
from app.logs import request_id_var
from app.security.identity import Caller

access_log = logging.getLogger("app.access")

# Probes and scrapes come every few seconds: counted in the metrics, logged only at DEBUG.
QUIET_PATHS = frozenset({"/metrics", "/health/live", "/health/ready"})


def init_app(app: Flask) -> None:
    app.register_blueprint(metrics.blp)

    @app.before_request
    def _start() -> None:
        g._started = time.perf_counter()
        g._request_id_token = request_id_var.set(request_id())

    @app.after_request
    def _record(response: Response) -> Response:
        state = g._get_current_object()  # each proxy lookup costs: one for g, one for the request
        started = getattr(state, "_started", None)
        if started is None:  # a failure before the first hook ran
            return response
        seconds = time.perf_counter() - started
        current = request._get_current_object()  # type: ignore[attr-defined]
        rule = current.url_rule
        route = rule.rule if rule is not None else "<unmatched>"
        method, path, status = current.method, current.path, response.status_code
        metrics.observe(method, route, status, seconds)
        level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
        if access_log.isEnabledFor(level):
            access_log.log(
                level,
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "remote_addr": current.remote_addr,
                    **_audit(getattr(state, "caller", None)),
                },
            )
        return response

    @app.teardown_request
    def _forget(_exc: BaseException | None) -> None:
        token = g.pop("_request_id_token", None)
        if token is not None:
            try:
                request_id_var.reset(token)
            except ValueError:  # set in another context (should not happen): clear instead
                request_id_var.set(None)


def _audit(caller: Caller | None) -> dict[str, str]:
    """Who acted, for the access log: the party, and how it signed in (issuer, system user, acr)."""
    if caller is None:
        return {}
    fields = {
        "party": caller.party_urn,
        "organization": caller.organization,
        "system_user": caller.system_user_id,
        "acr": caller.acr,
        "issuer": caller.issuer,
    }
    return {k: v for k, v in fields.items() if v}
