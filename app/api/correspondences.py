"""/correspondence/api/v1/correspondence: Initialize, overview, details. Thin: parse → use case → serialize."""

from __future__ import annotations

import uuid
from typing import cast

from flask import Response, current_app, g, request

from app.api.auth import require_any_scope
from app.api.blueprint import Blueprint
from app.api.idempotency_key import PARAMETER as IDEMPOTENCY_KEY
from app.api.idempotency_key import claimed_key
from app.api.json_body import load, read_json
from app.api.problems import PROBLEM, documented, request_id
from app.api.rate_limit import rate_limited
from app.domain.enums import CorrespondenceStatus
from app.schemas.initialize import InitializeCorrespondencesRequestSchema
from app.schemas.responses import (
    CorrespondenceDetailsSchema,
    CorrespondenceOverviewSchema,
    InitializeCorrespondencesResponseSchema,
)
from app.security.identity import READ_SCOPE, WRITE_SCOPE
from app.usecases.get_correspondence import get_details, get_overview
from app.usecases.initialize_correspondences import (
    InitializeOptions,
    InitializeResult,
    initialize_correspondences,
)
from app.usecases.replayable_requests import fingerprint_of_body, release
from app.usecases.wait_for_orders import MAX_WAIT_SECONDS, wait_for_orders

blp = Blueprint(
    "correspondence",
    __name__,
    url_prefix="/correspondence/api/v1",
    description="Correspondences: initialize, overview, details",
)

_request_schema = InitializeCorrespondencesRequestSchema()
_STATUS_NAMES = {int(s): s.name for s in CorrespondenceStatus}


@blp.route("/correspondence", methods=["POST"])
@blp.doc(
    summary="Initialize one correspondence per recipient",
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": InitializeCorrespondencesRequestSchema}},
    },
    parameters=[IDEMPOTENCY_KEY],
    security=[{"bearerAuth": []}],
)
@blp.response(200, InitializeCorrespondencesResponseSchema)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(401, **PROBLEM)
@blp.alt_response(403, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@blp.alt_response(409, **PROBLEM)
@blp.alt_response(422, **PROBLEM)
@documented(413, 415, 503, not_acceptable=True, invalid_template=True)
@blp.plain  # the hot path: served without flask-smorest's wrappers (app.api.blueprint)
@require_any_scope(WRITE_SCOPE)
@rate_limited  # per sender; off unless RATE_LIMIT_PER_SECOND is set
def initialize():
    services = current_app.extensions["correspondence"]
    key, stored = claimed_key(
        services.db,
        services.settings.idempotency_retention,
        lambda: fingerprint_of_body(request.get_data(cache=True)),
    )
    if stored is not None:
        return answer_replayed(stored)
    try:
        raw = read_json()
        # A NUL in an attachment's fileName is left to the rules: on this endpoint any attachment entry
        # is 1005 (no files come with JSON), and nothing with a NUL is ever stored.
        request_data = load(_request_schema, raw, nul_reported_in=frozenset({"filename"}))
        result = initialize_correspondences(
            services.db,
            g.caller,
            request_data,
            InitializeOptions(
                require_known_recipients=services.settings.require_known_recipients,
                request_id=request_id(),
                request_key=key,
                registry=services.registry_cache,
            ),
        )
    except BaseException:
        if key is not None:
            release(services.db, key)  # nothing was stored: the key may be used again
        raise
    return answer_initialized(services.db, result)


def answer_replayed(stored: dict) -> Response:
    """A repeat of an Initialize with the same Idempotency-Key and body: the first answer again."""
    result = InitializeResult.from_record(stored)
    response = _answer(result, {})
    response.headers["Idempotent-Replayed"] = "true"
    return response


def answer_initialized(db, result) -> Response:
    """After an Initialize committed (the outbox relay hands its work to the broker): honour
    `Prefer: wait=N`, answer."""
    ids = [c.correspondence_id for c in result.correspondences]
    wait = _preferred_wait()
    orders: dict = {}
    if wait is not None:
        # A bounded number of waiters per process: past it, the answer comes at once and says so by
        # leaving out Preference-Applied (RFC 7240), so waiting clients never starve the others.
        waiters = current_app.extensions["correspondence"].waiters
        if waiters.acquire(blocking=False):
            try:
                orders = wait_for_orders(db, result.awaiting_orders, ids, wait)
            finally:
                waiters.release()
        else:
            wait = None
    response = _answer(result, orders)
    if wait is not None:
        response.headers["Preference-Applied"] = f"wait={_format_seconds(wait)}"
    return response


def _answer(result: InitializeResult, orders: dict) -> Response:
    # Written directly in the shape of InitializeCorrespondencesResponseSchema (a test holds the two
    # together): up to 500 items, where a schema dump costs more than the rest of the answer.
    body = {
        "correspondences": [
            {
                "correspondenceId": str(c.correspondence_id),
                "status": _STATUS_NAMES[c.status],
                "recipient": c.recipient,
                "notifications": _order_summaries(orders.get(c.correspondence_id)),
            }
            for c in result.correspondences
        ],
        "attachmentIds": [str(i) for i in result.attachment_ids],
    }
    # Flask's provider answers with app.response_class; its signature names werkzeug's base class.
    return cast(Response, current_app.json.response(body))


def _preferred_wait() -> float | None:
    """`Prefer: wait=N` (RFC 7240), capped at 30 s; None when not asked for or malformed."""
    # The WSGI server joins repeated headers with commas: one environ lookup reads them all (Werkzeug's
    # header list would scan the whole environ on every Initialize).
    header = request.environ.get("HTTP_PREFER")
    if header:
        for preference in header.split(","):
            name, _, value = preference.strip().partition("=")
            if name.strip().lower() == "wait":
                try:
                    seconds = float(value.strip().strip('"'))
                except ValueError:
                    return None
                return min(max(seconds, 0.0), MAX_WAIT_SECONDS) if seconds == seconds else None
    return None


def _format_seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _order_summaries(orders: list[dict] | None) -> list[dict] | None:
    if orders is None:
        return None
    return [{"orderId": str(o["id"]), "isReminder": o["is_reminder"], "status": o["status"]} for o in orders]


@blp.route("/correspondence/<uuid:correspondence_id>", methods=["GET"])
@blp.doc(summary="Overview of one correspondence", security=[{"bearerAuth": []}])
@blp.response(200, CorrespondenceOverviewSchema)
@blp.alt_response(404, **PROBLEM)
@documented(401, 403, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE, READ_SCOPE)
def overview(correspondence_id: uuid.UUID):
    return get_overview(current_app.extensions["correspondence"].db, g.caller, correspondence_id)


@blp.route("/correspondence/<uuid:correspondence_id>/details", methods=["GET"])
@blp.doc(summary="Details of one correspondence, with status history", security=[{"bearerAuth": []}])
@blp.response(200, CorrespondenceDetailsSchema)
@blp.alt_response(404, **PROBLEM)
@documented(401, 403, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE, READ_SCOPE)
def details(correspondence_id: uuid.UUID):
    return get_details(current_app.extensions["correspondence"].db, g.caller, correspondence_id)
