"""Bounds on what one request may carry (DESIGN.md §7; docs/operating.md "Limits" lists them). Pure constants.

Where SPEC.md gives a limit it is used as is. Where a numbered error (1038: more than 100
attachments) answers above a limit, the schema's cap sits higher, so the numbered error still
answers just past the SPEC limit and only absurd sizes become a validation problem.
"""

from __future__ import annotations

# JSON bodies: containers nested deeper than this are refused at parse time (400).
MAX_JSON_DEPTH = 64

# Lists and maps of the Initialize request (SPEC.md §3.2, §5.1).
MAX_RECIPIENTS = 500  # SPEC.md: "Recipients can contain at most 500 recipients"
MAX_EXTERNAL_REFERENCES = 10  # SPEC.md: "externalReferences can contain at most 10 references"
MAX_PROPERTIES = 10  # SPEC.md: propertyList ≤ 10 entries, key ≤ 50, value ≤ 300
MAX_PROPERTY_KEY_LENGTH = 50
MAX_PROPERTY_VALUE_LENGTH = 300
MAX_ATTACHMENT_ENTRIES = 200  # each of existingAttachments, content.attachments; 1038 above 100 in total
MAX_REPLY_OPTIONS = 100  # no SPEC limit
MAX_CUSTOM_RECIPIENTS = (
    100  # notification.customRecipients, and each customNotificationRecipients[i].recipients
)
MAX_CUSTOM_NOTIFICATION_RECIPIENTS = 10  # deprecated list; only its first element is used

# Strings without a SPEC limit that are stored or echoed: free text ≤ the longest SPEC reference field.
MAX_FREE_TEXT_LENGTH = 4096

# multipart/form-data (POST /correspondence/upload). A full request under the caps above has about
# 2,500 parts; the largest text field is a 30,000-character message body (≤ 120,000 bytes in UTF-8).
MAX_FORM_PARTS = 5_000
MAX_FORM_FIELD_BYTES = 128 * 1024
MAX_FORM_FIELDS_TOTAL_BYTES = 4 * 1024 * 1024  # every non-file part together, headers included

# Search (GET /correspondence): results come 1,000 at most; `offset` may skip at most this many (each
# skipped row is still read by the database).
MAX_SEARCH_OFFSET = 10_000
