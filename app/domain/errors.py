"""The error catalogue of SPEC.md §4.10 and the two kinds of client errors.

`CorrespondenceError` carries one numbered error (problem details with `errorCode`);
`ValidationProblem` carries model-validation messages per field path (no `errorCode`).
Pure: no Flask, no SQL.
"""

from __future__ import annotations

CATALOGUE: dict[int, tuple[int, str]] = {
    # 1xxx correspondence
    1001: (404, "The requested correspondence was not found"),
    1002: (400, "Message title must be plain text"),
    1003: (400, "Message body must be markdown"),
    1005: (400, "Mismatch between uploaded files and attachment metadata"),
    1006: (400, "Recipients must be unique"),
    1007: (400, "Existing attachment not found"),
    1008: (400, "DueDateTime cannot be prior to today"),
    1009: (400, "DueDateTime cannot be prior to RequestedPublishTime"),
    1013: (400, "Sender cannot delete correspondence that has been published"),
    1014: (400, "Correspondence has already been purged"),
    1016: (400, "DueDateTime is required when confirmation is needed"),
    1017: (400, "The sender of the correspondence must be equal the sender of existing attachments"),
    1018: (400, "Attachment is not published"),
    1023: (
        400,
        "Invalid language chosen. Supported languages is Norsk bokmål (nb), Nynorsk (nn) and English (en)",
    ),
    1024: (400, "Correspondence must be fetched before it can be read"),
    1025: (400, "Correspondence must be fetched before it can be confirmed"),
    1026: (
        400,
        "Cannot archive or delete a correspondence which has not been confirmed when confirmation is required",
    ),
    1027: (400, "From date cannot be after to date"),
    1028: (400, "Limit and offset must be greater than or equal to 0"),
    1029: (404, "Could not find partyId for the following recipients: {recipients}"),
    1030: (
        422,
        "Recipient {recipient} has reserved themselves from public correspondences. "
        "Can be overridden using the 'IgnoreReservation' flag.",
    ),
    1032: (500, "Contact reservation registry lookup failed"),
    1033: (400, "The idempotency key must be a valid non-empty GUID"),
    1034: (409, "A correspondence with the same idempotent key already exists"),
    1035: (400, "Reply options must be well-formed URIs and HTTPS with a max length of 255 characters"),
    1036: (400, "ResourceId must match an existing resource in the resource registry"),
    1038: (400, "A correspondence cannot contain more than 100 attachments in total"),
    1039: (400, "Message sender must be plain text"),
    1040: (400, "Correspondence is already marked as read"),
    1041: (400, "Correspondence has already been confirmed"),
    1044: (400, "The following recipients lack required roles to read the correspondence: {recipients}"),
    1045: (400, "Transmission correspondences only support one recipient"),
    1047: (400, "Idempotency key is not supported for requests with multiple recipients"),
    1048: (400, "DialogId must be a valid non-empty GUID"),
    1046: (
        400,
        "The recipient of the correspondence must be equal to the party of the dialog of the transmission",
    ),
    1050: (400, "The service owner of a transmission can not differ from the service owner of the dialog"),
    1051: (
        400,
        "Correspondences with GUI actions (ReplyOptions or IsConfirmationNeeded) cannot be sent as "
        "transmissions",
    ),
    1052: (400, "Only one DialogportenTransmissionType external reference is allowed"),
    1053: (
        400,
        "DialogportenTransmissionType external reference requires a DialogportenDialogId external reference",
    ),
    1054: (404, "Dialogporten dialog with the given id was not found"),
    1055: (
        400,
        "Existing attachment is expiring within 6 hour(s) and cannot be attached to a new correspondence",
    ),
    1060: (
        400,
        "Confidential correspondences (resources with the access package "
        "post-til-virksomheten-med-taushetsbelagt-innhold) cannot be initialized without setting "
        "the 'IsConfidential' flag to true",
    ),
    1061: (
        400,
        "Correspondences cannot be initialized with 'IsConfidential' flag set to true if the "
        "resource is not confidential",
    ),
    1063: (400, "Correspondence does not allow forwarding"),
    1064: (400, "Correspondence has already been forwarded to the specified recipient"),
    1065: (400, "Correspondence must be read before it can be forwarded"),
    1066: (400, "Forwarding text cannot exceed 200 characters"),
    1067: (400, "Forwarding text must be plain text"),
    1068: (
        400,
        "Correspondence cannot allow forwarding if the resource for the correspondence has a "
        "required authorization level above 0",
    ),
    1069: (400, "Correspondence cannot allow forwarding if the total size of attachments exceeds 10 MB"),
    # 2xxx attachments
    2001: (404, "The requested attachment was not found"),
    2002: (502, "Error occurred during upload"),
    2003: (400, "Cannot upload attachment to a correspondence that has been created"),
    2004: (400, "File must have content and has a max file size of {limit}"),
    2005: (400, "File has already been or is being uploaded"),
    2006: (400, "File has already been purged"),
    2007: (400, "Attachment cannot be purged as it is linked to at least one existing correspondence"),
    2008: (400, "Checksum mismatch"),
    2009: (400, "Could not get data location url"),
    2010: (400, "Filename is missing"),
    2011: (400, "Filename is too long"),
    2012: (
        400,
        "Filename contains invalid characters. The ruleset is based on Windows file naming "
        "convention which is defined here: https://learn.microsoft.com/en-us/windows/win32/"
        "fileio/naming-a-file#file-and-directory-names",
    ),
    2013: (400, "Filetype not allowed"),
    2016: (
        400,
        "This attachment is associated with a published correspondence and can no longer be accessed "
        "by service owner",
    ),
    2017: (400, "Attachment expirationTime must be at least {days} days from now"),
    2018: (400, "File has expired"),
    2019: (400, "The attachment has been purged and cannot be downloaded"),
    2020: (400, "The attachment has expired and cannot be downloaded"),
    2021: (
        400,
        "The filename uses a Windows reserved name. Files cannot be named CON, PRN, AUX, NUL, "
        "COM1-COM9, or LPT1-LPT9 (e.g., 'CON.txt' is not allowed, but 'CONSOLE.txt' is).",
    ),
    2022: (408, "Upload request timed out due to data arriving too slowly"),
    # Altinn's text; its limit is 2 GB (the "25 MB" is a leftover in Altinn's Errors.cs).
    2023: (400, "Total size of attachments exceeds the maximum allowed for zip download (25 MB)"),
    # 3xxx notifications
    3001: (404, "The requested notification template with the given language was not found"),
    3002: (400, "Email body and subject must be provided when sending email notifications"),
    3003: (400, "Reminder email body and subject must be provided when sending reminder email notifications"),
    3004: (400, "SMS body must be provided when sending SMS notifications"),
    3005: (400, "Reminder SMS body must be provided when sending reminder SMS notifications"),
    3006: (400, "Email body, subject and SMS body must be provided when sending preferred notifications"),
    3007: (
        400,
        "Reminder email body, subject and SMS body must be provided when sending reminder "
        "preferred notifications",
    ),
    3011: (400, "Invalid email provided for custom recipient."),
    3012: (
        400,
        "Invalid mobile number provided. Mobile number can contain only '+' and numeric "
        "characters, and it must adhere to the E.164 standard.",
    ),
    3015: (
        400,
        "Recipient overrides with email or mobile number are not allowed when using "
        "notification recipient name because of name lookup",
    ),
    3017: (400, "Custom recipient with multiple recipients is not allowed"),
    3018: (400, "Custom recipient with multiple identifiers is not allowed"),
    3019: (400, "Custom recipient without identifier is not allowed"),
    3022: (
        400,
        "OverrideRegisteredContactInformation flag can only be used when CustomRecipients is provided",
    ),
    3023: (400, "Invalid notification template"),
    3024: (400, "Email body, subject and SMS body must be provided when sending email and SMS notifications"),
    3025: (
        400,
        "Reminder email body, subject and SMS body must be provided when sending reminder email "
        "and SMS notifications",
    ),
    3027: (400, "Email address provided for forwarding correspondence exceeds 1000 characters"),
    3028: (500, "Failed to create composed email for correspondence"),
    # 4xxx authorization
    4001: (
        401,
        "You must use an Altinn token, DialogToken or log in to IDPorten as someone with access "
        "to the resource and organization in Altinn Authorization",
    ),
    4002: (400, "Could not retrieve party uuid from lookup in Altinn Register"),
    4006: (401, "Could not determine caller"),
    4009: (400, "Resource type is not supported. Resource must be of type CorrespondenceService."),
    4010: (
        400,
        "Resource type is not supported. Resource must be of type CorrespondenceService. If "
        "creating a Correspondence as a transmission with reference to an existing DialogId "
        "AltinnApp is also allowed.",
    ),
}


class CorrespondenceError(Exception):
    """One numbered error of the catalogue; rendered as problem details with `errorCode`."""

    def __init__(self, code: int, **params: object) -> None:
        status, text = CATALOGUE[code]
        self.code = code
        self.status = status
        self.detail = text.format(**params) if params else text
        super().__init__(f"{code}: {self.detail}")


class ValidationProblem(Exception):
    """Model-validation failure: messages per field path (C#-style, e.g. `Correspondence.Content`)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))

    @classmethod
    def single(cls, path: str, message: str) -> ValidationProblem:
        return cls({path: [message]})
