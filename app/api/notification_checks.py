"""Condition endpoints Altinn Notifications calls before sending (SPEC.md §5.5)."""

from __future__ import annotations

import uuid

from flask import current_app
from marshmallow import Schema, fields

from app.api.auth import require_any_scope
from app.api.blueprint import Blueprint
from app.api.problems import documented
from app.usecases.deliver_notifications import should_send

CHECK_SCOPE = "altinn:system/notifications.condition.check"

blp = Blueprint(
    "notification_checks",
    __name__,
    url_prefix="/correspondence/api/v1",
    description="Send conditions for notifications (called by Altinn Notifications)",
)


class SendConditionSchema(Schema):
    sendNotification = fields.Boolean(required=True)


@blp.route("/correspondence/<uuid:correspondence_id>/notification/check", methods=["GET"])
@blp.doc(
    summary="May the reminder be sent? (false once the correspondence is read)", security=[{"bearerAuth": []}]
)
@blp.response(200, SendConditionSchema)
@documented(401, 403, 404, 503, not_acceptable=True)
@require_any_scope(CHECK_SCOPE)
def reminder_check(correspondence_id: uuid.UUID):
    db = current_app.extensions["correspondence"].db
    return {"sendNotification": should_send(db, correspondence_id, is_reminder=True)}


@blp.route("/correspondence/<uuid:correspondence_id>/notification/check/main", methods=["GET"])
@blp.doc(summary="May the main notification be sent?", security=[{"bearerAuth": []}])
@blp.response(200, SendConditionSchema)
@documented(401, 403, 404, 503, not_acceptable=True)
@require_any_scope(CHECK_SCOPE)
def main_check(correspondence_id: uuid.UUID):
    db = current_app.extensions["correspondence"].db
    return {"sendNotification": should_send(db, correspondence_id, is_reminder=False)}
