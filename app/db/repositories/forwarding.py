"""SQL of forwarding events (SPEC.md §3.10)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import DictRow


@dataclass(frozen=True)
class ForwardingEvent:
    id: uuid.UUID
    correspondence_id: uuid.UUID
    forwarded_on_date: datetime
    forwarded_by_party_urn: str
    forwarded_to_email_address: str
    forwarded_to_key: str
    forwarding_text: str | None


def add_forwarding_event(conn: psycopg.Connection[DictRow], event: ForwardingEvent) -> bool:
    """Insert the event; False when this correspondence was already forwarded to that address."""
    row = conn.execute(
        """INSERT INTO correspondence_forwarding_events (id, correspondence_id, forwarded_on_date,
               forwarded_by_party_urn, forwarded_to_email_address, forwarded_to_key, forwarding_text)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT ON CONSTRAINT correspondence_forwarding_events_once DO NOTHING RETURNING id""",
        (
            event.id,
            event.correspondence_id,
            event.forwarded_on_date,
            event.forwarded_by_party_urn,
            event.forwarded_to_email_address,
            event.forwarded_to_key,
            event.forwarding_text,
        ),
    ).fetchone()
    return row is not None


def delete_forwarding_event(conn: psycopg.Connection[DictRow], event_id: uuid.UUID) -> None:
    """Its forwarding e-mail could not be ordered (3028): the forwarding did not happen."""
    conn.execute("DELETE FROM correspondence_forwarding_events WHERE id = %s", (event_id,))
