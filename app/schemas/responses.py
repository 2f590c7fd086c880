"""Response models (SPEC.md §3.2, §3.4, §3.5), written camelCase with enums as names."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.domain.enums import (
    AttachmentDataLocationType,
    AttachmentStatus,
    CorrespondenceStatus,
    NotificationChannel,
    ReferenceType,
)
from app.schemas.fields import DateTimeOffset, EnumName


class _Out(Schema):
    class Meta:
        ordered = True


class NotificationOrderSummarySchema(_Out):
    """The seed's per-order shape (SPEC.md §5.7 historical shape, DESIGN.md §6)."""

    order_id = fields.UUID(data_key="orderId")
    is_reminder = fields.Boolean(data_key="isReminder")
    status = fields.String(metadata={"enum": ["Success", "MissingContact", "Failure"]})


class InitializedCorrespondenceSchema(_Out):
    correspondence_id = fields.UUID(data_key="correspondenceId")
    status = EnumName(CorrespondenceStatus)
    recipient = fields.String()
    notifications = fields.List(fields.Nested(NotificationOrderSummarySchema), allow_none=True)


class InitializeCorrespondencesResponseSchema(_Out):
    correspondences = fields.List(fields.Nested(InitializedCorrespondenceSchema))
    attachment_ids = fields.List(fields.UUID(), data_key="attachmentIds")


class CorrespondenceAttachmentSchema(_Out):
    id = fields.UUID()
    file_name = fields.String(data_key="fileName")
    display_name = fields.String(data_key="displayName", allow_none=True)
    is_encrypted = fields.Boolean(data_key="isEncrypted")
    checksum = fields.String(allow_none=True)
    senders_reference = fields.String(data_key="sendersReference")
    expiration_in_days = fields.Integer(data_key="expirationInDays", allow_none=True)
    data_location_type = EnumName(AttachmentDataLocationType, data_key="dataLocationType")
    created = DateTimeOffset()
    status = EnumName(AttachmentStatus)
    status_text = fields.String(data_key="statusText")
    status_changed = DateTimeOffset(data_key="statusChanged")
    data_type = fields.String(data_key="dataType")
    expiration_time = DateTimeOffset(data_key="expirationTime", allow_none=True)


class ContentOutSchema(_Out):
    language = fields.String()
    message_title = fields.String(data_key="messageTitle")
    message_summary = fields.String(data_key="messageSummary")
    message_body = fields.String(data_key="messageBody")
    attachments = fields.List(fields.Nested(CorrespondenceAttachmentSchema))


class ExternalReferenceOutSchema(_Out):
    reference_value = fields.String(data_key="referenceValue")
    reference_type = EnumName(ReferenceType, data_key="referenceType")


class ReplyOptionOutSchema(_Out):
    link_url = fields.String(data_key="linkURL")
    link_text = fields.String(data_key="linkText", allow_none=True)


class NotificationRecipientOutSchema(_Out):
    email_address = fields.String(data_key="emailAddress", allow_none=True)
    mobile_number = fields.String(data_key="mobileNumber", allow_none=True)
    organization_number = fields.String(data_key="organizationNumber", allow_none=True)
    national_identity_number = fields.String(data_key="nationalIdentityNumber", allow_none=True)
    is_reserved = fields.Boolean(data_key="isReserved", allow_none=True)


class NotificationSendStatusSchema(_Out):
    status = fields.String()
    description = fields.String(allow_none=True)
    last_update = DateTimeOffset(data_key="lastUpdate")


class NotificationDetailsSchema(_Out):
    """One address of an order and what became of it (Altinn's NotificationDetailsExt)."""

    id = fields.UUID(allow_none=True)
    succeeded = fields.Boolean()
    recipient = fields.Nested(NotificationRecipientOutSchema)
    send_status = fields.Nested(NotificationSendStatusSchema, data_key="sendStatus")


class NotificationStatusDetailsSchema(_Out):
    email = fields.Nested(NotificationDetailsSchema, allow_none=True)
    sms = fields.Nested(NotificationDetailsSchema, allow_none=True)
    emails = fields.List(fields.Nested(NotificationDetailsSchema))
    smses = fields.List(fields.Nested(NotificationDetailsSchema))


class NotificationOrderSchema(_Out):
    """A recorded notification order as overview/details show it."""

    notification_order_id = fields.UUID(data_key="notificationOrderId", allow_none=True)
    order_id = fields.UUID(data_key="orderId", allow_none=True)
    is_reminder = fields.Boolean(data_key="isReminder")
    status = fields.String(allow_none=True)
    notification_channel = EnumName(NotificationChannel, data_key="notificationChannel")
    addresses = fields.List(fields.String())
    # Per address, once the order's gateway follows its delivery (smtp; altinn by polling); else null.
    notification_status_details = fields.Nested(
        NotificationStatusDetailsSchema, data_key="notificationStatusDetails", allow_none=True
    )


class _CorrespondenceBaseOut(_Out):
    correspondence_id = fields.UUID(data_key="correspondenceId")
    resource_id = fields.String(data_key="resourceId")
    sender = fields.String()
    senders_reference = fields.String(data_key="sendersReference")
    message_sender = fields.String(data_key="messageSender")
    recipient = fields.String()
    content = fields.Nested(ContentOutSchema)
    requested_publish_time = DateTimeOffset(data_key="requestedPublishTime")
    due_date_time = DateTimeOffset(data_key="dueDateTime", allow_none=True)
    external_references = fields.List(
        fields.Nested(ExternalReferenceOutSchema), data_key="externalReferences"
    )
    property_list = fields.Dict(keys=fields.String(), values=fields.String(), data_key="propertyList")
    reply_options = fields.List(fields.Nested(ReplyOptionOutSchema), data_key="replyOptions")
    notification = fields.Raw(allow_none=True, dump_default=None)
    ignore_reservation = fields.Boolean(data_key="ignoreReservation")
    is_confirmation_needed = fields.Boolean(data_key="isConfirmationNeeded")
    is_confidential = fields.Boolean(data_key="isConfidential")
    allow_forwarding = fields.Boolean(data_key="allowForwarding")
    created = DateTimeOffset()
    status = EnumName(CorrespondenceStatus)
    status_text = fields.String(data_key="statusText")
    status_changed = DateTimeOffset(data_key="statusChanged")
    notifications = fields.List(fields.Nested(NotificationOrderSchema))
    altinn2_correspondence_id = fields.Integer(data_key="altinn2CorrespondenceId", allow_none=True)
    published = DateTimeOffset(allow_none=True)
    read = DateTimeOffset(allow_none=True)


class CorrespondenceOverviewSchema(_CorrespondenceBaseOut):
    pass


class StatusEntrySchema(_Out):
    status = EnumName(CorrespondenceStatus)
    status_text = fields.String(data_key="statusText")
    status_changed = DateTimeOffset(data_key="statusChanged")


class CorrespondenceDetailsSchema(_CorrespondenceBaseOut):
    status_history = fields.List(fields.Nested(StatusEntrySchema), data_key="statusHistory")
    system_label = fields.String(data_key="systemLabel")
