"""RFC 7807 problem details (SPEC.md §7.4, DESIGN.md §3) and the app-wide error handlers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, g, json, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.api.blueprint import Blueprint
from app.db.pool import DatabaseUnavailable
from app.domain.access import MissingScope
from app.domain.errors import CorrespondenceError, ValidationProblem
from app.domain.idempotency import KeyLost
from app.schemas.problems import ProblemDetailsSchema

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPES = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
    403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
    406: "https://tools.ietf.org/html/rfc9110#section-15.5.7",
    408: "https://tools.ietf.org/html/rfc9110#section-15.5.9",
    409: "https://tools.ietf.org/html/rfc9110#section-15.5.10",
    413: "https://tools.ietf.org/html/rfc9110#section-15.5.14",
    415: "https://tools.ietf.org/html/rfc9110#section-15.5.16",
    422: "https://tools.ietf.org/html/rfc9110#section-15.5.21",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
    502: "https://tools.ietf.org/html/rfc9110#section-15.6.3",
    503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
}


DESCRIPTIONS = {
    400: "A validation problem (`errors` by field) or a numbered error (`errorCode`)",
    401: "No valid token (errorCode 4001)",
    403: "The token lacks the scope",
    404: "Not found, or not visible to the caller (errorCode 1001 and others)",
    405: "Method not allowed (see Allow)",
    408: "The request body did not arrive in time",
    409: "Conflict (errorCode)",
    413: "The request body (or a form limit) is too large",
    415: "Wrong Content-Type",
    422: "Unprocessable (errorCode)",
    429: "Too many requests from this sender; see Retry-After",
    502: "A dependency failed (errorCode)",
    503: "The database is unavailable; nothing was stored",
}
# `@blp.alt_response(status, **PROBLEM)`: the status answers problem details.
PROBLEM = {
    "schema": ProblemDetailsSchema,
    "content_type": PROBLEM_JSON,
    "description": "Problem details (RFC 7807) with errorCode, or a validation problem",
}
_doc = Blueprint("problem_doc", __name__)  # only lends its alt_response decorator to views


def documented(
    *statuses: int, not_acceptable: bool = False, invalid_template: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """OpenAPI: each status answers `application/problem+json` (ProblemDetails). `not_acceptable`:
    406 answers text/plain (SPEC.md §3.1, the Accept check of JSON endpoints); `invalid_template`:
    a 400 may also be the bare JSON string of error 3023 (SPEC.md §3.2)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        for status in statuses:
            view = _doc.alt_response(
                status,
                schema=ProblemDetailsSchema,
                content_type=PROBLEM_JSON,
                description=DESCRIPTIONS.get(status),
            )(view)
        if not_acceptable:
            view = _doc.alt_response(
                406,
                schema={"type": "string"},
                content_type="text/plain",
                description="The Accept header names no JSON type",
            )(view)
        if invalid_template:
            view = _doc.alt_response(
                400,
                schema={"type": "string"},
                content_type="application/json",
                description="A validation problem or a numbered error (problem details); "
                "error 3023 alone is a bare JSON string, as the original answers it",
            )(view)
        return view

    return decorator


def request_id() -> str:
    rid = getattr(g, "request_id", None)
    if rid is None:
        incoming = request.environ.get("HTTP_X_REQUEST_ID", "")  # the header, without Headers' scan
        rid = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        g.request_id = rid
    return rid


def trace_id() -> str:
    """W3C trace id derived from the request id (`00-<32 hex>-<16 hex>-01`)."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, request_id()).hex
    return f"00-{digest}-{digest[:16]}-01"


def problem(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": TYPES.get(status, "about:blank"),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    body.update(extra)
    body["traceId"] = trace_id()
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def correspondence_problem(error: CorrespondenceError) -> Response:
    if error.code == 3023:
        # The original controller answers this one with a bare JSON string (SPEC.md §3.2).
        return Response(json.dumps(error.detail), status=400, mimetype="application/json")
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return problem(
        error.status, error.detail, headers=headers, code=f"CORR-{error.code:05d}", errorCode=error.code
    )


def validation_problem(error: ValidationProblem) -> Response:
    return problem(
        400,
        "One or more validation errors occurred.",
        code="STD-00000",
        validationErrors=[
            {"code": "CORR.VLD-00000", "title": message, "paths": [path.replace(".", "/")]}
            for path, messages in error.errors.items()
            for message in messages
        ],
        errors=error.errors,
    )


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(CorrespondenceError, correspondence_problem)
    app.register_error_handler(ValidationProblem, validation_problem)

    @app.errorhandler(MissingScope)
    def _missing_scope(exc: MissingScope) -> Response:
        return problem(403, f"The token lacks the scope this action needs ({exc.scope}).")

    @app.errorhandler(KeyLost)
    def _key_lost(exc: KeyLost) -> Response:
        return problem(
            409,
            "A retry with this Idempotency-Key took it over while this request was still being processed; "
            "this request stored nothing (the retry's answer counts).",
        )

    @app.errorhandler(DatabaseUnavailable)
    def _database_down(exc: DatabaseUnavailable) -> Response:
        log.error("database unavailable: %s", exc)
        return problem(
            503,
            "The database is unavailable; nothing was stored. Try again later.",
            headers={"Retry-After": "5"},
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        detail = exc.description if status != 500 else None
        data = getattr(exc, "data", None)
        if status == 413:  # werkzeug's own text is about "capacity"; our subclasses say which limit
            detail = (
                exc.description
                if type(exc) is not RequestEntityTooLarge
                else "The request body is too large."
            )
        elif isinstance(data, dict) and data.get("message"):
            detail = str(data["message"])
        # The exception's own headers (405: Allow; 401: WWW-Authenticate; ...), not its HTML type.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return problem(status, detail, headers=headers)

    try:  # the server's body reader fails inside the app on a broken chunked body
        from gunicorn.http.errors import ParseException
    except ImportError:  # pragma: no cover - gunicorn is a dependency
        ParseException = None
    if ParseException is not None:

        @app.errorhandler(ParseException)
        def _malformed_body(exc: Exception) -> Response:
            return problem(400, f"The request body is malformed: {type(exc).__name__}.")

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return problem(500, None, title="An error occurred while processing your request.")
