"""Subscriptions to events, in Altinn Events' shape: /events/api/v1/subscriptions. Thin."""

from __future__ import annotations

import logging

from flask import current_app, g, jsonify
from marshmallow import fields, validate

from app.api.auth import require_any_scope
from app.api.blueprint import Blueprint
from app.api.json_body import load, read_json
from app.api.problems import PROBLEM, documented, problem
from app.api.rate_limit import rate_limited
from app.events_settings import load_event_settings
from app.schemas.fields import CaseInsensitiveSchema
from app.security.identity import READ_SCOPE, WRITE_SCOPE
from app.usecases import event_subscriptions as usecase

log = logging.getLogger(__name__)

blp = Blueprint(
    "events",
    __name__,
    url_prefix="/events/api/v1",
    description="Subscriptions to CloudEvents about correspondences (signed webhooks)",
)


class SubscriptionRequestSchema(CaseInsensitiveSchema):
    end_point = fields.String(data_key="endPoint", required=True, validate=validate.Length(min=1, max=2048))
    resource_filter = fields.String(
        data_key="resourceFilter", required=True, validate=validate.Length(min=1, max=300)
    )
    type_filter = fields.String(
        data_key="typeFilter", load_default=None, allow_none=True, validate=validate.Length(max=200)
    )
    subject_filter = fields.String(
        data_key="subjectFilter", load_default=None, allow_none=True, validate=validate.Length(max=200)
    )


def _services():
    return current_app.extensions["correspondence"]


def _problem(exc: usecase.SubscriptionProblem):
    return problem(exc.status, exc.detail)


@blp.route("/subscriptions", methods=["POST"])
@blp.doc(
    summary="Subscribe an endpoint; answers the subscription with its signing secret (once)",
    security=[{"bearerAuth": []}],
    requestBody={"required": True, "content": {"application/json": {"schema": SubscriptionRequestSchema}}},
)
@blp.alt_response(
    201,
    description="The subscription, status pending until the endpoint answers the "
    "validation event 2xx; `secret` (whsec_…) is shown only here",
)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(403, **PROBLEM)
@blp.alt_response(415, **PROBLEM)
@documented(401, 413, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE, READ_SCOPE)
@rate_limited  # every write operation: one bucket per caller
def create():
    body = load(SubscriptionRequestSchema(), read_json())
    try:
        answer = usecase.create_subscription(_services().db, g.caller, body, load_event_settings())
    except usecase.SubscriptionProblem as exc:
        return _problem(exc)
    _kick_delivery()
    response = jsonify(answer)
    response.status_code = 201
    response.headers["Location"] = f"/events/api/v1/subscriptions/{answer['id']}"
    return response


@blp.route("/subscriptions", methods=["GET"])
@blp.doc(
    summary="The caller's subscriptions",
    security=[{"bearerAuth": []}],
    responses={
        200: {
            "description": "count and subscriptions",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
@documented(401, 403, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE, READ_SCOPE)
def list_all():
    items = usecase.list_subscriptions(_services().db, g.caller)
    return jsonify({"count": len(items), "subscriptions": items})


@blp.route("/subscriptions/<int:subscription_id>", methods=["GET"])
@blp.doc(
    summary="One subscription, with its validation status and delivery counts",
    security=[{"bearerAuth": []}],
    responses={
        200: {
            "description": "The subscription",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
@blp.alt_response(404, **PROBLEM)
@documented(401, 403, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE, READ_SCOPE)
def get_one(subscription_id: int):
    try:
        return jsonify(usecase.get_subscription(_services().db, g.caller, subscription_id))
    except usecase.SubscriptionProblem as exc:
        return _problem(exc)


@blp.route("/subscriptions/<int:subscription_id>", methods=["DELETE"])
@blp.doc(summary="Stop a subscription (nothing more is delivered to it)", security=[{"bearerAuth": []}])
@blp.alt_response(404, **PROBLEM)
@documented(401, 403, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE, READ_SCOPE)
@rate_limited  # every write operation: one bucket per caller
def delete(subscription_id: int):
    try:
        usecase.delete_subscription(_services().db, g.caller, subscription_id)
    except usecase.SubscriptionProblem as exc:
        return _problem(exc)
    return "", 204


class EventsCollector:
    """`correspondence_event_deliveries{state="pending"|"failed"}`, read when Prometheus scrapes."""

    def __init__(self, services) -> None:  # app.web.Services
        self.services = services

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from app.db.repositories.events import delivery_counts

        try:
            with self.services.db.transaction() as conn:
                counts = delivery_counts(conn)
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
            log.warning("metrics: event deliveries query failed: %s", exc)
            return
        gauge = GaugeMetricFamily(
            "correspondence_event_deliveries",
            "Event deliveries to subscribers not yet answered 2xx, and failed for good",
            labels=["state"],
        )
        for state, n in counts.items():
            gauge.add_metric([state], n)
        yield gauge


def _kick_delivery() -> None:
    """Ask a worker to send the validation event now; beat's scan sends it anyway if this is lost."""
    try:
        from workers.tasks.events import kick

        kick(_services().celery)
    except Exception as exc:  # noqa: BLE001 - broker down (whatever kombu raises): the scan covers it
        log.info("events: could not kick delivery (%s); the beat scan will send it", exc)
