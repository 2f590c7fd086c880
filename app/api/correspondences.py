"""/correspondence/api/v1/correspondence: Initialize, overview, details. Thin: parse → use case → serialize."""
from __future__ import annotations

import uuid

from flask import current_app, g, request
from flask_smorest import Blueprint

from app.api.auth import require_any_scope
from app.api.json_body import load, read_json
from app.api.problems import PROBLEM, documented, request_id
from app.api.rate_limit import rate_limited
from app.schemas.initialize import InitializeCorrespondencesRequestSchema
from app.schemas.responses import (
    CorrespondenceDetailsSchema,
    CorrespondenceOverviewSchema,
    InitializeCorrespondencesResponseSchema,
)
from app.security.identity import READ_SCOPE, WRITE_SCOPE
from app.usecases.dispatch_notification_orders import dispatch_after_commit
from app.usecases.get_correspondence import get_details, get_overview
from app.usecases.initialize_correspondences import InitializeOptions, initialize_correspondences
from app.usecases.wait_for_orders import MAX_WAIT_SECONDS, wait_for_orders
from workers.dispatch import enqueue_order_creation

blp = Blueprint("correspondence", __name__, url_prefix="/correspondence/api/v1",
                description="Correspondences: initialize, overview, details")

_request_schema = InitializeCorrespondencesRequestSchema()


@blp.route("/correspondence", methods=["POST"])
@blp.doc(
    summary="Initialize one correspondence per recipient",
    requestBody={"required": True,
                 "content": {"application/json": {"schema": InitializeCorrespondencesRequestSchema}}},
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
@require_any_scope(WRITE_SCOPE)
@rate_limited  # per sender; off unless RATE_LIMIT_PER_SECOND is set
def initialize():
    raw = read_json()
    request_data = load(_request_schema, raw)
    services = current_app.extensions["correspondence"]
    result = initialize_correspondences(
        services.db, g.caller, request_data, raw,
        InitializeOptions(require_known_recipients=services.settings.require_known_recipients,
                          request_id=request_id()),
    )
    return answer_initialized(services.db, result)


def answer_initialized(db, result) -> tuple[dict, int, dict[str, str]]:
    """After an Initialize committed: hand the outbox to the broker, honour `Prefer: wait=N`, answer."""
    dispatch_after_commit(db, enqueue_order_creation, result.awaiting_orders)
    ids = [c.correspondence_id for c in result.correspondences]
    wait = _preferred_wait()
    orders = wait_for_orders(db, result.awaiting_orders, ids, wait) if wait is not None else {}
    body = {
        "correspondences": [
            {"correspondence_id": c.correspondence_id, "status": c.status, "recipient": c.recipient,
             "notifications": _order_summaries(orders.get(c.correspondence_id))}
            for c in result.correspondences
        ],
        "attachment_ids": result.attachment_ids,
    }
    headers = {"Preference-Applied": f"wait={_format_seconds(wait)}"} if wait is not None else {}
    return body, 200, headers


def _preferred_wait() -> float | None:
    """`Prefer: wait=N` (RFC 7240), capped at 30 s; None when not asked for or malformed."""
    for header in request.headers.getlist("Prefer"):
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
    return [{"order_id": o["id"], "is_reminder": o["is_reminder"], "status": o["status"]} for o in orders]


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
