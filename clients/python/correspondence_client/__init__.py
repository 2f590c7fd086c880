"""Python client of the Altinn Correspondence API as this service implements it.

    from correspondence_client import CorrespondenceClient, InitializeRequest, Correspondence, Content

    with CorrespondenceClient("http://127.0.0.1:8080", token=my_token_function) as client:
        answer = client.initialize(InitializeRequest(
            correspondence=Correspondence(resource_id="demo-correspondence-service", senders_reference="case-1",
                                          content=Content(message_title="Hei", message_body="Hei **verden**")),
            recipients=["310654329"]))

No dependency on the service's code. Bulk sending from a CSV file: `correspondence_client.bulk`.
"""

from correspondence_client.auth import TokenCache, jwt_expiry
from correspondence_client.client import CorrespondenceClient, derive_key
from correspondence_client.errors import (
    ApiError,
    CorrespondenceClientError,
    OutcomeUnknown,
    TransportError,
)
from correspondence_client.models import (
    AttachmentMetadata,
    Content,
    Correspondence,
    ExternalReference,
    ForwardRequest,
    InitializeAttachment,
    InitializeRequest,
    Notification,
    NotificationRecipient,
    ReplyOption,
)
from correspondence_client.recipients import Recipient, is_valid_ssn, normalize_recipient, parse_recipient
from correspondence_client.responses import (
    AttachmentDetails,
    AttachmentOverview,
    CorrespondenceAttachment,
    CorrespondenceDetails,
    CorrespondenceOverview,
    InitializedCorrespondence,
    InitializeResponse,
    NotificationOrder,
    NotificationOrderSummary,
    StatusEntry,
)
from correspondence_client.transport import RetryPolicy, parse_retry_after

__all__ = [
    "ApiError",
    "AttachmentDetails",
    "AttachmentMetadata",
    "AttachmentOverview",
    "Content",
    "Correspondence",
    "CorrespondenceAttachment",
    "CorrespondenceClient",
    "CorrespondenceClientError",
    "CorrespondenceDetails",
    "CorrespondenceOverview",
    "ExternalReference",
    "ForwardRequest",
    "InitializeAttachment",
    "InitializeRequest",
    "InitializeResponse",
    "InitializedCorrespondence",
    "Notification",
    "NotificationOrder",
    "NotificationOrderSummary",
    "NotificationRecipient",
    "OutcomeUnknown",
    "Recipient",
    "ReplyOption",
    "RetryPolicy",
    "StatusEntry",
    "TokenCache",
    "TransportError",
    "derive_key",
    "is_valid_ssn",
    "jwt_expiry",
    "normalize_recipient",
    "parse_recipient",
    "parse_retry_after",
]
__version__ = "0.1.0"
