"""OpenAPI of the multipart Initialize form (POST /correspondence/upload). Documentation only:
the form is bound by `form_binding.py` into the JSON model and validated by its schema, so these
fields state the same constraints under their form names. Lists of objects (`…attachments[0].fileName`)
and `propertyList.<key>` bind as described on the operation; the fields most requests send are here."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.domain.limits import MAX_RECIPIENTS
from app.domain.recipients import RECIPIENT_PATTERN
from app.schemas.fields import DateTimeOffset, StrictBoolean
from app.schemas.initialize import LANGUAGE_FORMAT, required_text, resource_id_field

BINARY = {"type": "string", "format": "binary"}


class InitializeFormSchema(Schema):
    resource_id = resource_id_field("correspondence.resourceId")
    senders_reference = fields.String(
        data_key="correspondence.sendersReference", required=True, validate=validate.Length(min=1, max=4096)
    )
    message_sender = fields.String(data_key="correspondence.messageSender", validate=validate.Length(max=255))
    language = fields.String(
        data_key="correspondence.content.language", metadata={"pattern": LANGUAGE_FORMAT.pattern}
    )
    message_title = required_text("messageTitle", 255, "correspondence.content.messageTitle")
    message_summary = fields.String(
        data_key="correspondence.content.messageSummary", validate=validate.Length(max=255)
    )
    message_body = required_text("messageBody", 30000, "correspondence.content.messageBody")
    requested_publish_time = DateTimeOffset(data_key="correspondence.requestedPublishTime")
    due_date_time = DateTimeOffset(data_key="correspondence.dueDateTime")
    is_confirmation_needed = StrictBoolean(data_key="correspondence.isConfirmationNeeded")
    recipients = fields.List(
        fields.String(metadata={"pattern": RECIPIENT_PATTERN}),
        required=True,
        validate=validate.Length(min=1, max=MAX_RECIPIENTS),
        metadata={"description": "Repeated, or as `recipients[0]`, `recipients[1]`, …"},
    )
    attachments = fields.List(
        fields.Raw(metadata=BINARY),
        metadata={"description": "One file part per `correspondence.content.attachments[i]`"},
    )
