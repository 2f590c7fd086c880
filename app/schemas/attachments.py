"""Models of the attachment endpoints (SPEC.md §3.11): InitializeAttachment in, overview/details out."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.domain.enums import AttachmentStatus
from app.schemas.fields import DateTimeOffset, EnumName
from app.schemas.initialize import FREE_TEXT, InitializeAttachmentSchema, resource_id_field


class InitializeSharedAttachmentSchema(InitializeAttachmentSchema):
    """The body of `POST /attachment`: an attachment entry plus its resource."""

    resource_id = resource_id_field()
    sender = fields.String(
        allow_none=True, load_default=None, validate=FREE_TEXT, metadata={"deprecated": True}
    )
    # No length limit at model level here: the file name rules answer 2011.
    file_name = fields.String(data_key="fileName", allow_none=True, load_default=None)


class _Out(Schema):
    class Meta:
        ordered = True


class AttachmentStatusSchema(_Out):
    status = EnumName(AttachmentStatus)
    status_text = fields.String(data_key="statusText")
    status_changed = DateTimeOffset(data_key="statusChanged")


class AttachmentOverviewSchema(_Out):
    attachment_id = fields.UUID(data_key="attachmentId")
    resource_id = fields.String(data_key="resourceId")
    sender = fields.String()
    file_name = fields.String(data_key="fileName")
    display_name = fields.String(data_key="displayName", allow_none=True)
    is_encrypted = fields.Boolean(data_key="isEncrypted")
    checksum = fields.String(allow_none=True)
    senders_reference = fields.String(data_key="sendersReference")
    expiration_in_days = fields.Integer(data_key="expirationInDays", allow_none=True)
    status = EnumName(AttachmentStatus)
    status_text = fields.String(data_key="statusText")
    status_changed = DateTimeOffset(data_key="statusChanged")
    correspondence_ids = fields.List(fields.UUID(), data_key="correspondenceIds")
    data_type = fields.String(data_key="dataType")


class AttachmentDetailsSchema(AttachmentOverviewSchema):
    status_history = fields.List(fields.Nested(AttachmentStatusSchema), data_key="statusHistory")
