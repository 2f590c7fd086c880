"""Request bodies for tests: a valid Initialize request, changed per test."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

ORG_RECIPIENT = "urn:altinn:organization:identifier-no:313721779"
PERSON_RECIPIENT = "urn:altinn:person:identifier-no:08900499559"
RESERVED_PERSON = "urn:altinn:person:identifier-no:26818099001"
NO_CONTACT_PERSON = "urn:altinn:person:identifier-no:07827199405"


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def initialize_request(recipients: list[str] | None = None, **correspondence: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "correspondence": {
            "resourceId": "test-service",
            "sendersReference": "ref-1",
            "content": {
                "language": "nb",
                "messageTitle": "Testmelding",
                "messageSummary": "Sammendrag",
                "messageBody": "Hei **verden**",
            },
        },
        "recipients": recipients if recipients is not None else [ORG_RECIPIENT],
    }
    body["correspondence"].update(copy.deepcopy(correspondence))
    return body


def with_content(body: dict[str, Any], **content: Any) -> dict[str, Any]:
    body["correspondence"]["content"].update(content)
    return body


def bruno_example(resource_id: str = "test-service") -> dict[str, Any]:
    """SPEC.md §6.1 as sent (mixed casing), with dates moved into the future."""
    return {
        "correspondence": {
            "resourceId": resource_id,
            "sendersReference": "1",
            "content": {
                "language": "nb",
                "messageTitle": "Testmelding tittel",
                "messageSummary": "Ett sammendrag for meldingen",
                "messageBody": "MessageBody kan være plain text eller **markdown**",
                "attachments": [],
            },
            "requestedPublishTime": iso(timedelta(minutes=5)),
            "dueDateTime": iso(timedelta(days=14)),
            "externalReferences": [],
            "propertyList": {"caseNumber": "123", "etc": "can-use-for-anything"},
            "replyOptions": [{"linkURL": "https://digdir-samarbeid.slack.com/", "linkText": "Slack"}],
            "notification": {
                "notificationTemplate": "CustomMessage",
                "notificationChannel": "EmailAndSms",
                "SendReminder": True,
                "EmailSubject": "Test av Correspondence: E-post varsel",
                "ReminderEmailSubject": "Test av Correspondence: E-post påminnelse",
                "SmsBody": "Dette er SMS-en som sendes ut ved varsling",
                "ReminderSmsBody": "Dette er SMS-en som sendes ut ved påminnelse",
                "EmailBody": "Dette er mailteksten som sendes ut",
                "ReminderEmailBody": "Dette er eposten som sendes ut ved påminnelse",
            },
            "IgnoreReservation": False,
            "IsConfirmationNeeded": True,
            "allowForwarding": True,
        },
        "Recipients": [ORG_RECIPIENT, PERSON_RECIPIENT],
        "existingAttachments": [],
    }
