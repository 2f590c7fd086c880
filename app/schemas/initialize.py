"""Request model of Initialize (SPEC.md §3.2, §5.1): attribute-level validation only.

Loading yields snake_case dicts; everything the handler checks (error codes) lives in the use case.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from marshmallow import ValidationError, fields, validate, validates, validates_schema

from app.domain.enums import (
    EmailContentType,
    InitializeAttachmentDataLocationType,
    NotificationChannel,
    NotificationTemplate,
    ReferenceType,
    TransmissionType,
    parse_enum,
)
from app.domain.limits import (
    MAX_ATTACHMENT_ENTRIES,
    MAX_CUSTOM_NOTIFICATION_RECIPIENTS,
    MAX_CUSTOM_RECIPIENTS,
    MAX_EXTERNAL_REFERENCES,
    MAX_FREE_TEXT_LENGTH,
    MAX_PROPERTIES,
    MAX_PROPERTY_KEY_LENGTH,
    MAX_PROPERTY_VALUE_LENGTH,
    MAX_RECIPIENTS,
    MAX_REPLY_OPTIONS,
)
from app.domain.recipients import RECIPIENT_EMPTY_MESSAGE, RECIPIENT_PATTERN, validate_recipient
from app.schemas.fields import (
    NOT_BLANK_PATTERN,
    WHITESPACE,
    BoundedDict,
    BoundedList,
    CaseInsensitiveSchema,
    DateTimeOffset,
    EnumInput,
    FullMatch,
    StrictBoolean,
    WholeNumber,
    is_blank,
)

MAX_EXPIRATION_DAYS = 36500
FREE_TEXT = validate.Length(max=MAX_FREE_TEXT_LENGTH)
RESOURCE_ID_FORMAT = re.compile(r"^(urn:altinn:resource:)?[^:]{1,255}$")  # used with fullmatch
RESOURCE_ID_ERROR = "Invalid Resource identifier format"
LANGUAGE_FORMAT = re.compile(f"^([{WHITESPACE}]*|[\\s\\S]{{2}})$")  # blank, or exactly 2 characters
CHECKSUM_FORMAT = f"^([{WHITESPACE}]*|[^A-Z]{{32}})$"  # blank, or 32 characters without upper case
PROPERTY_KEY_ERROR = f"propertyList keys can be at most {MAX_PROPERTY_KEY_LENGTH} characters"
REQUEST_REFERENCE_TYPES = [t for t in ReferenceType if t != ReferenceType.DialogportenTransmissionId]


def resource_id_field(data_key: str = "resourceId") -> fields.String:
    """`resourceId`: 1..255 characters of the resource id format (SPEC.md §3.2), as OpenAPI shows it."""
    return fields.String(
        data_key=data_key,
        required=True,
        validate=[
            validate.Length(min=1, max=255, error=RESOURCE_ID_ERROR),
            FullMatch(RESOURCE_ID_FORMAT, error=RESOURCE_ID_ERROR),
        ],
    )


def required_text(data_key: str, max_length: int, form_key: str | None = None) -> fields.String:
    """Required text that may not be blank: minLength 1, maxLength and a non-blank pattern in OpenAPI."""
    name = data_key[:1].upper() + data_key[1:]
    return fields.String(
        data_key=form_key or data_key,
        required=True,
        metadata={"pattern": NOT_BLANK_PATTERN},
        validate=[
            validate.Length(min=1, error=f"The {data_key} field is required."),
            validate.Length(
                max=max_length,
                error=f"The field {name} must be a string with a maximum length of {max_length}.",
            ),
        ],
    )


class NotificationRecipientSchema(CaseInsensitiveSchema):
    email_address = fields.String(
        data_key="emailAddress", allow_none=True, load_default=None, validate=FREE_TEXT
    )
    mobile_number = fields.String(
        data_key="mobileNumber", allow_none=True, load_default=None, validate=FREE_TEXT
    )
    organization_number = fields.String(
        data_key="organizationNumber", allow_none=True, load_default=None, validate=FREE_TEXT
    )
    national_identity_number = fields.String(
        data_key="nationalIdentityNumber", allow_none=True, load_default=None, validate=FREE_TEXT
    )
    is_reserved = StrictBoolean(data_key="isReserved", allow_none=True, load_default=None)


class CustomNotificationRecipientSchema(CaseInsensitiveSchema):
    recipient_to_override = fields.String(data_key="recipientToOverride", required=True, validate=FREE_TEXT)
    recipients = BoundedList(
        fields.Nested(NotificationRecipientSchema),
        required=True,
        max_items=MAX_CUSTOM_RECIPIENTS,
        max_error=f"recipients can contain at most {MAX_CUSTOM_RECIPIENTS} recipients",
    )


class NotificationSchema(CaseInsensitiveSchema):
    # An undefined template number passes here; the handler answers 3023 (SPEC.md §3.2).
    notification_template = EnumInput(
        NotificationTemplate,
        data_key="notificationTemplate",
        allow_undefined_number=True,
        load_default=int(NotificationTemplate.CustomMessage),
    )
    # Absent behaves like Email(0) (non-nullable enum in the original model).
    notification_channel = EnumInput(
        NotificationChannel, data_key="notificationChannel", load_default=int(NotificationChannel.Email)
    )
    email_subject = fields.String(
        data_key="emailSubject", allow_none=True, load_default=None, validate=validate.Length(max=512)
    )
    email_body = fields.String(
        data_key="emailBody", allow_none=True, load_default=None, validate=validate.Length(max=10000)
    )
    email_content_type = EnumInput(
        EmailContentType, data_key="emailContentType", load_default=int(EmailContentType.Plain)
    )
    sms_body = fields.String(
        data_key="smsBody", allow_none=True, load_default=None, validate=validate.Length(max=2144)
    )
    send_reminder = StrictBoolean(data_key="sendReminder", load_default=False)
    reminder_email_subject = fields.String(
        data_key="reminderEmailSubject", allow_none=True, load_default=None, validate=validate.Length(max=512)
    )
    reminder_email_body = fields.String(
        data_key="reminderEmailBody", allow_none=True, load_default=None, validate=validate.Length(max=10000)
    )
    reminder_email_content_type = EnumInput(
        EmailContentType, data_key="reminderEmailContentType", allow_none=True, load_default=None
    )
    reminder_sms_body = fields.String(
        data_key="reminderSmsBody", allow_none=True, load_default=None, validate=validate.Length(max=2144)
    )
    reminder_notification_channel = EnumInput(
        NotificationChannel, data_key="reminderNotificationChannel", allow_none=True, load_default=None
    )
    senders_reference = fields.String(
        data_key="sendersReference", allow_none=True, load_default=None, validate=FREE_TEXT
    )
    custom_recipients = BoundedList(
        fields.Nested(NotificationRecipientSchema),
        data_key="customRecipients",
        allow_none=True,
        load_default=None,
        max_items=MAX_CUSTOM_RECIPIENTS,
        max_error=f"customRecipients can contain at most {MAX_CUSTOM_RECIPIENTS} recipients",
    )
    custom_recipient = fields.Nested(
        NotificationRecipientSchema, data_key="customRecipient", allow_none=True, load_default=None
    )
    custom_notification_recipients = BoundedList(
        fields.Nested(CustomNotificationRecipientSchema),
        data_key="customNotificationRecipients",
        allow_none=True,
        load_default=None,
        max_items=MAX_CUSTOM_NOTIFICATION_RECIPIENTS,
        max_error=f"customNotificationRecipients can contain at most {MAX_CUSTOM_NOTIFICATION_RECIPIENTS} "
        "entries",
    )
    override_registered_contact_information = StrictBoolean(
        data_key="overrideRegisteredContactInformation", load_default=False
    )


class ExternalReferenceSchema(CaseInsensitiveSchema):
    reference_value = fields.String(data_key="referenceValue", required=True, validate=FREE_TEXT)
    reference_type = EnumInput(
        ReferenceType, data_key="referenceType", required=True, members=REQUEST_REFERENCE_TYPES
    )

    @validates_schema
    def _check_type(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("reference_type") == ReferenceType.DialogportenTransmissionId:
            raise ValidationError(
                "Cannot initialize a correspondence with pre-existing transmission defined", "referenceType"
            )
        if data.get("reference_type") == ReferenceType.DialogportenTransmissionType:
            try:
                parse_enum(TransmissionType, data.get("reference_value"))
            except ValueError:
                raise ValidationError(
                    "DialogportenTransmissionType referenceValue must be a valid transmission type",
                    "referenceValue",
                ) from None


class ReplyOptionSchema(CaseInsensitiveSchema):
    link_url = fields.String(data_key="linkURL", required=True)
    link_text = fields.String(data_key="linkText", allow_none=True, load_default=None, validate=FREE_TEXT)


class InitializeAttachmentSchema(CaseInsensitiveSchema):
    file_name = fields.String(
        data_key="fileName", allow_none=True, load_default=None, validate=validate.Length(max=255)
    )
    display_name = fields.String(
        data_key="displayName", allow_none=True, load_default=None, validate=validate.Length(max=255)
    )
    is_encrypted = StrictBoolean(data_key="isEncrypted", load_default=False)
    checksum = fields.String(allow_none=True, load_default=None, metadata={"pattern": CHECKSUM_FORMAT})
    senders_reference = fields.String(
        data_key="sendersReference", required=True, validate=validate.Length(min=1, max=4096)
    )
    # The lower bound is error 2017 (handler); the upper one keeps date arithmetic in range.
    expiration_in_days = WholeNumber(
        data_key="expirationInDays",
        allow_none=True,
        load_default=None,
        validate=validate.Range(max=MAX_EXPIRATION_DAYS),
    )
    data_location_type = EnumInput(
        InitializeAttachmentDataLocationType, data_key="dataLocationType", load_default=0
    )

    @validates("checksum")
    def _checksum(self, value: str | None, **_: Any) -> None:
        if value is None or is_blank(value):
            return
        if len(value) != 32:
            raise ValidationError("The checksum, if used, must be a MD5 hash with a length of 32 characters")
        if re.search("[A-Z]", value):  # anything else that is no MD5 is error 2008 once the bytes are seen
            raise ValidationError("The checksum, if used, must be a MD5 hash in lower case")


class ContentSchema(CaseInsensitiveSchema):
    language = fields.String(
        allow_none=True, load_default=None, metadata={"pattern": LANGUAGE_FORMAT.pattern}
    )
    message_title = required_text("messageTitle", 255)
    message_summary = fields.String(
        data_key="messageSummary", allow_none=True, load_default=None, validate=validate.Length(max=255)
    )
    message_body = required_text("messageBody", 30000)
    attachments = BoundedList(
        fields.Nested(InitializeAttachmentSchema),
        allow_none=True,
        load_default=list,
        max_items=MAX_ATTACHMENT_ENTRIES,
        max_error=f"attachments can contain at most {MAX_ATTACHMENT_ENTRIES} attachments",
    )

    @validates("language")
    def _language(self, value: str | None, **_: Any) -> None:
        if value is not None and not LANGUAGE_FORMAT.fullmatch(value):
            raise ValidationError("The ISO6391 field must be exactly 2 characters long!")

    @validates("message_title", "message_body")
    def _not_blank(self, value: str, data_key: str, **_: Any) -> None:
        if is_blank(value):
            raise ValidationError(f"The {data_key} field is required.")


class BaseCorrespondenceSchema(CaseInsensitiveSchema):
    resource_id = resource_id_field()
    sender = fields.String(
        allow_none=True, load_default=None, validate=FREE_TEXT, metadata={"deprecated": True}
    )
    senders_reference = fields.String(
        data_key="sendersReference", required=True, validate=validate.Length(min=1, max=4096)
    )
    message_sender = fields.String(
        data_key="messageSender", allow_none=True, load_default=None, validate=validate.Length(max=255)
    )
    content = fields.Nested(ContentSchema, required=True)
    requested_publish_time = DateTimeOffset(
        data_key="requestedPublishTime", allow_none=True, load_default=None
    )
    due_date_time = DateTimeOffset(data_key="dueDateTime", allow_none=True, load_default=None)
    external_references = BoundedList(
        fields.Nested(ExternalReferenceSchema),
        data_key="externalReferences",
        allow_none=True,
        load_default=list,
        max_items=MAX_EXTERNAL_REFERENCES,
        max_error=f"externalReferences can contain at most {MAX_EXTERNAL_REFERENCES} references",
    )
    property_list = BoundedDict(
        keys=fields.String(validate=validate.Length(max=MAX_PROPERTY_KEY_LENGTH, error=PROPERTY_KEY_ERROR)),
        values=fields.String(validate=validate.Length(max=MAX_PROPERTY_VALUE_LENGTH)),
        data_key="propertyList",
        allow_none=True,
        load_default=dict,
        max_entries=MAX_PROPERTIES,
        max_error=f"propertyList can contain at most {MAX_PROPERTIES} properties",
        metadata={"description": PROPERTY_KEY_ERROR + " (OpenAPI 3.0 cannot state it)"},
    )
    reply_options = BoundedList(
        fields.Nested(ReplyOptionSchema),
        data_key="replyOptions",
        allow_none=True,
        load_default=list,
        max_items=MAX_REPLY_OPTIONS,
        max_error=f"replyOptions can contain at most {MAX_REPLY_OPTIONS} reply options",
    )
    notification = fields.Nested(NotificationSchema, allow_none=True, load_default=None)
    ignore_reservation = StrictBoolean(data_key="ignoreReservation", allow_none=True, load_default=None)
    is_confirmation_needed = StrictBoolean(data_key="isConfirmationNeeded", load_default=False)
    is_confidential = StrictBoolean(data_key="isConfidential", load_default=False)
    allow_forwarding = StrictBoolean(data_key="allowForwarding", load_default=False)


class InitializeCorrespondencesRequestSchema(CaseInsensitiveSchema):
    correspondence = fields.Nested(BaseCorrespondenceSchema, required=True)
    recipients = BoundedList(
        fields.String(metadata={"pattern": RECIPIENT_PATTERN}),
        required=True,
        null_error=RECIPIENT_EMPTY_MESSAGE,
        min_items=1,
        min_error="Recipients can not be empty",
        max_items=MAX_RECIPIENTS,
        max_error=f"Recipients can contain at most {MAX_RECIPIENTS} recipients",
    )
    existing_attachments = BoundedList(
        fields.UUID(),
        data_key="existingAttachments",
        allow_none=True,
        load_default=list,
        max_items=MAX_ATTACHMENT_ENTRIES,
        max_error=f"existingAttachments can contain at most {MAX_ATTACHMENT_ENTRIES} attachments",
    )
    idempotent_key = fields.UUID(data_key="idempotentKey", allow_none=True, load_default=None)

    @validates("recipients")
    def _recipients(self, value: list[str], **_: Any) -> None:  # null entries: BoundedList's null_error
        if any(not item.strip() for item in value):
            raise ValidationError(RECIPIENT_EMPTY_MESSAGE)
        problems = [msg for msg in (validate_recipient(item) for item in value) if msg]
        if problems:
            raise ValidationError(sorted(set(problems), key=problems.index))

    @validates("idempotent_key")
    def _idempotent_key(self, value: uuid.UUID | None, **_: Any) -> None:
        if value is not None and value.int == 0:
            raise ValidationError("The idempotency key must be a valid non-empty GUID")
