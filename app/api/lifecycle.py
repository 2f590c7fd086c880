"""Search, mark as read, confirm, purge. Thin: parse → use case → serialize."""

from __future__ import annotations

import uuid

from flask import Response, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from app.api.auth import require_any_scope
from app.api.blueprint import Blueprint
from app.api.json_body import load, read_json
from app.api.problems import PROBLEM, documented
from app.api.rate_limit import rate_limited
from app.domain.enums import CorrespondencesRoleType, CorrespondenceStatus
from app.domain.limits import MAX_SEARCH_OFFSET
from app.domain.recipients import on_behalf_of_error
from app.schemas.fields import CaseInsensitiveSchema, DateTimeOffset, EnumInput, WholeNumber
from app.schemas.forwarding import ForwardCorrespondenceRequestSchema
from app.security.identity import READ_SCOPE, WRITE_SCOPE
from app.storage import storage_from_settings
from app.usecases.forward_correspondence import forward_correspondence
from app.usecases.read_content import read_content
from app.usecases.recipient_actions import confirm, mark_as_read, purge
from app.usecases.search_correspondences import MAX_RESULTS, SearchQuery, search_correspondences

blp = Blueprint(
    "lifecycle",
    __name__,
    url_prefix="/correspondence/api/v1",
    description="Search, and what recipients and senders do after Initialize",
)
ID_RESPONSE = {
    200: {
        "description": "The correspondence id, as a JSON string",
        "content": {"application/json": {"schema": {"type": "string", "format": "uuid"}}},
    }
}


class OnBehalfOf(fields.String):
    """Whitespace only is absent (ASP.NET binds it as null); otherwise an org (URN or 0192) or a person
    (URN or plain, mod-11 checked), else a validation problem (SPEC.md §3.6)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            return None
        message = on_behalf_of_error(text)
        if message is not None:
            raise ValidationError(message)
        return text


class SearchQuerySchema(CaseInsensitiveSchema):
    resource_id = fields.String(
        data_key="resourceId", required=True, validate=validate.Length(min=1, max=255)
    )
    role = EnumInput(CorrespondencesRoleType, required=True)
    date_from = DateTimeOffset(data_key="from", load_default=None)
    date_to = DateTimeOffset(data_key="to", load_default=None)
    status = EnumInput(CorrespondenceStatus, load_default=None)
    on_behalf_of = OnBehalfOf(data_key="onBehalfOf", load_default=None)
    altinn2_correspondence_id = fields.Integer(
        data_key="altinn2CorrespondenceId",
        load_default=None,
        validate=validate.Range(min=-(2**31), max=2**31 - 1),
    )
    senders_reference = fields.String(data_key="sendersReference", load_default=None)
    idempotent_key = fields.UUID(data_key="idempotentKey", load_default=None)
    # Negative: error 1028 (SPEC.md §3.8), which OpenAPI states as the minimum.
    # Capped: a database skips every row before the offset (narrow by from/to to go further back).
    offset = WholeNumber(
        load_default=0, validate=validate.Range(max=MAX_SEARCH_OFFSET), metadata={"minimum": 0}
    )
    limit = WholeNumber(
        load_default=MAX_RESULTS, validate=validate.Range(max=2**31 - 1), metadata={"minimum": 0}
    )


class IdsSchema(Schema):
    ids = fields.List(fields.UUID())


@blp.route("/correspondence", methods=["GET"])
@blp.doc(
    summary="Ids of correspondences for a resource, newest publish time first (max 1000)",
    parameters=[{"in": "query", "schema": SearchQuerySchema}],
    security=[{"bearerAuth": []}],
)
@blp.response(200, IdsSchema)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(401, **PROBLEM)
@documented(403, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE, READ_SCOPE)
def search():
    args = load(SearchQuerySchema(), request.args.to_dict())
    query = SearchQuery(**args)
    return {"ids": search_correspondences(current_app.extensions["correspondence"].db, g.caller, query)}


@blp.route("/correspondence/<uuid:correspondence_id>/markasread", methods=["POST"])
@blp.doc(summary="Recipient marks the correspondence as read", security=[{"bearerAuth": []}])
@blp.doc(responses=ID_RESPONSE)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@documented(401, 403, 503, not_acceptable=True)
@require_any_scope(READ_SCOPE)
@rate_limited  # every write operation: one bucket per caller
def markasread(correspondence_id: uuid.UUID):
    return jsonify(
        str(mark_as_read(current_app.extensions["correspondence"].db, g.caller, correspondence_id))
    )


@blp.route("/correspondence/<uuid:correspondence_id>/confirm", methods=["POST"])
@blp.doc(summary="Recipient confirms the correspondence", security=[{"bearerAuth": []}])
@blp.doc(responses=ID_RESPONSE)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@documented(401, 403, 503, not_acceptable=True)
@require_any_scope(READ_SCOPE)
@rate_limited  # every write operation: one bucket per caller
def confirm_correspondence(correspondence_id: uuid.UUID):
    return jsonify(str(confirm(current_app.extensions["correspondence"].db, g.caller, correspondence_id)))


@blp.route("/correspondence/<uuid:correspondence_id>/purge", methods=["DELETE"])
@blp.doc(summary="Purge: the sender before publish, or the recipient", security=[{"bearerAuth": []}])
@blp.doc(responses=ID_RESPONSE)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@documented(401, 403, 503, not_acceptable=True)
@require_any_scope(WRITE_SCOPE, READ_SCOPE)
@rate_limited  # every write operation: one bucket per caller
def purge_correspondence(correspondence_id: uuid.UUID):
    services = current_app.extensions["correspondence"]
    return jsonify(
        str(purge(services.db, g.caller, correspondence_id, storage_from_settings(services.settings)))
    )


@blp.route("/correspondence/<uuid:correspondence_id>/content", methods=["GET"])
@blp.doc(
    summary="Recipient reads the message body (markdown as text/plain); records Fetched and Read",
    security=[{"bearerAuth": []}],
    responses={
        200: {"description": "The message body", "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
)
@blp.alt_response(404, **PROBLEM)
@documented(401, 403, 503)
@require_any_scope(READ_SCOPE, check_accept=False)  # the answer is text, not JSON
def content(correspondence_id: uuid.UUID):
    body = read_content(current_app.extensions["correspondence"].db, g.caller, correspondence_id)
    return Response(body, status=200, mimetype="text/plain")


_forward_schema = ForwardCorrespondenceRequestSchema()


@blp.route("/correspondence/<uuid:correspondence_id>/forward", methods=["POST"])
@blp.doc(
    summary="Recipient forwards a read correspondence to an e-mail address (recorded; no e-mail is sent)",
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": ForwardCorrespondenceRequestSchema}},
    },
    security=[{"bearerAuth": []}],
    responses={
        200: {
            "description": "The forwarding event id, as a JSON string",
            "content": {"application/json": {"schema": {"type": "string", "format": "uuid"}}},
        }
    },
)
@blp.alt_response(400, **PROBLEM)
@blp.alt_response(404, **PROBLEM)
@blp.alt_response(415, **PROBLEM)
@documented(401, 403, 503, not_acceptable=True)
@require_any_scope(READ_SCOPE)
@rate_limited  # every write operation: one bucket per caller
def forward(correspondence_id: uuid.UUID):
    data = load(_forward_schema, read_json())
    services = current_app.extensions["correspondence"]
    event_id = forward_correspondence(
        services.db,
        g.caller,
        correspondence_id,
        data["forward_to"],
        data["forwarding_text"],
        send_email=services.settings.worker.gateway == "smtp",  # the e-mail worker sends it
        composed_email=_composed_email(services.settings.worker),
    )
    return jsonify(str(event_id))


def _composed_email(worker):  # app.config.WorkerSettings
    """With the altinn gateway, Notifications' composed-e-mail API orders the forwarding e-mail."""
    if worker.gateway != "altinn" or not worker.notifications_url:
        return None
    from workers.gateways.altinn import AltinnNotificationsGateway

    gateway = AltinnNotificationsGateway(
        worker.notifications_url, token=worker.notifications_token, timeout=worker.gateway_timeout_seconds
    )
    return gateway.create_composed_email
