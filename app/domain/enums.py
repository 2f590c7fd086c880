"""Enums of the contract (SPEC.md §1.3, §1.4, §4.6). Written as names, read as names or numbers."""

from __future__ import annotations

from enum import IntEnum


class CorrespondenceStatus(IntEnum):
    Initialized = 0
    ReadyForPublish = 1
    Published = 2
    Fetched = 3
    Read = 4
    Replied = 5
    Confirmed = 6
    PurgedByRecipient = 7
    PurgedByAltinn = 8
    Archived = 9
    Reserved = 10
    Failed = 11
    AttachmentsDownloaded = 12
    Forwarded = 13


class AttachmentStatus(IntEnum):
    Initialized = 0
    UploadProcessing = 1
    Published = 2
    Purged = 3
    Failed = 4
    Expired = 5


class ReferenceType(IntEnum):
    Generic = 0
    AltinnAppInstance = 1
    AltinnBrokerFileTransfer = 2
    DialogportenDialogId = 3
    DialogportenProcessId = 4
    DialogportenTransmissionId = 5
    DialogportenTransmissionType = 6


class TransmissionType(IntEnum):
    Information = 1
    Acceptance = 2
    Rejection = 3
    Request = 4
    Alert = 5
    Decision = 6
    Submission = 7
    Correction = 8


class NotificationTemplate(IntEnum):
    CustomMessage = 0
    GenericAltinnMessage = 1


class NotificationChannel(IntEnum):
    Email = 0
    Sms = 1
    EmailPreferred = 2
    SmsPreferred = 3
    EmailAndSms = 4


class EmailContentType(IntEnum):
    Plain = 0
    Html = 1


class AttachmentDataLocationType(IntEnum):
    AltinnCorrespondenceAttachment = 0
    ExternalStorage = 1


class InitializeAttachmentDataLocationType(IntEnum):
    NewCorrespondenceAttachment = 0
    ExistingCorrespondenceAttachment = 1
    ExistingExternalStorage = 2


class CorrespondencesRoleType(IntEnum):
    Recipient = 0
    Sender = 1
    RecipientAndSender = 2


class IdempotencyType(IntEnum):
    DialogportenActivity = 0
    Correspondence = 1
    NotificationOrder = 2
    ExpireAttachment = 3
    PublishCorrespondence = 4
    PurgeCorrespondence = 5
    NotificationDeliveryResolution = 6


def parse_enum(enum_cls: type[IntEnum], value: object, *, allow_undefined_number: bool = False) -> int:
    """Read an enum from a name (case-insensitive), an int, or a numeric string.

    Raises ValueError when the value is not a defined member (unless `allow_undefined_number`,
    which lets an integer through for a later, more specific check such as error 3023).
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a valid {enum_cls.__name__}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    elif isinstance(value, str):
        for member in enum_cls:
            if member.name.lower() == value.strip().lower():
                return int(member)
        raise ValueError(f"'{value}' is not a valid {enum_cls.__name__}")
    else:
        raise ValueError(f"{value!r} is not a valid {enum_cls.__name__}")
    if number in enum_cls._value2member_map_ or allow_undefined_number:
        return number
    raise ValueError(f"{number} is not a valid {enum_cls.__name__}")
