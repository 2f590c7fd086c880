"""RFC 7807 problem details as answered (SPEC.md §7.4): the OpenAPI model of every error body."""

from __future__ import annotations

from marshmallow import Schema, fields


class ValidationErrorSchema(Schema):
    code = fields.String(metadata={"example": "CORR.VLD-00000"})
    title = fields.String(metadata={"description": "The message"})
    paths = fields.List(fields.String(), metadata={"description": "Model keys, `/` between segments"})


class ProblemDetailsSchema(Schema):
    class Meta:
        ordered = True

    type = fields.String(required=True, metadata={"description": "RFC 9110 section of the status"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    code = fields.String(
        metadata={"description": "`CORR-<5 digits>` (numbered errors) or `STD-00000` (validation problems)"}
    )
    errorCode = fields.Integer(
        metadata={"description": "The numbered error (SPEC.md §4.10); absent on validation problems"}
    )
    validationErrors = fields.List(fields.Nested(ValidationErrorSchema))
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages by model key, e.g. `Correspondence.Content`"},
    )
    traceId = fields.String(required=True, metadata={"description": "W3C trace id of the request"})
