"""The body of POST /correspondence/{id}/forward (SPEC.md §3.10): `{forwardTo, forwardingText}`."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validates

from app.schemas.fields import NOT_BLANK_PATTERN, CaseInsensitiveSchema

FORWARD_TO_REQUIRED = "The ForwardTo field is required."


class ForwardCorrespondenceRequestSchema(CaseInsensitiveSchema):
    # Required as a non-nullable string in the original: missing, null or blank is a validation problem;
    # what is not an e-mail address is error 3011, and the lengths are 3027/1066 (the use case's rules).
    forward_to = fields.String(
        data_key="forwardTo",
        required=True,
        error_messages={"required": FORWARD_TO_REQUIRED, "null": FORWARD_TO_REQUIRED},
        metadata={"minLength": 1, "pattern": NOT_BLANK_PATTERN},
    )
    forwarding_text = fields.String(data_key="forwardingText", allow_none=True, load_default=None)

    @validates("forward_to")
    def _not_blank(self, value: str, **_: Any) -> None:
        if not value.strip():
            raise ValidationError(FORWARD_TO_REQUIRED)
