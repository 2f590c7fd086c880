"""Bulk send from a CSV file: `send(client, SendOptions(...))` (what `correspondence send` runs)."""

from correspondence_client.bulk.journal import JournalMismatch
from correspondence_client.bulk.send import SendOptions, SendReport, send

__all__ = ["JournalMismatch", "SendOptions", "SendReport", "send"]
