"""Small helpers shared by the HTTP-level tests of Initialize (SPEC.md §3.2, §7.4)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

URL = "/correspondence/api/v1/correspondence"

# Notification bodies that satisfy every content rule of SPEC.md §5.2 (change one field per test).
FULL_NOTIFICATION: dict[str, Any] = {
    "notificationTemplate": "CustomMessage",
    "notificationChannel": "Email",
    "emailSubject": "Varsel",
    "emailBody": "Du har fått en melding",
    "smsBody": "Du har fått en melding",
    "sendReminder": True,
    "reminderEmailSubject": "Påminnelse",
    "reminderEmailBody": "Husk meldingen",
    "reminderSmsBody": "Husk meldingen",
}


def post(client: Any, body: Any, headers: dict[str, str], **kwargs: Any) -> Any:
    """POST an Initialize request; `body` is JSON-encoded unless it is already a str/bytes."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    content_type = kwargs.pop("content_type", "application/json")
    return client.post(URL, data=data, headers=headers, content_type=content_type, **kwargs)


def details(client: Any, correspondence_id: str, headers: dict[str, str]) -> Any:
    return client.get(f"{URL}/{correspondence_id}/details", headers=headers)


def overview(client: Any, correspondence_id: str, headers: dict[str, str]) -> Any:
    return client.get(f"{URL}/{correspondence_id}", headers=headers)


def assert_error(resp: Any, status: int, code: int) -> dict[str, Any]:
    """A problem-details answer with this HTTP status and numeric `errorCode` (SPEC.md §7.4)."""
    body = resp.get_json(silent=True)
    assert resp.status_code == status, (resp.status_code, body)
    assert isinstance(body, dict), body
    assert body.get("errorCode") == code, body
    assert body.get("status") == status, body
    assert body.get("code") == f"CORR-{code:05d}", body
    return body


def assert_validation(resp: Any, message: str | None = None, path: str | None = None) -> dict[str, Any]:
    """A model-validation problem: 400, no errorCode, `message` among the `errors` (under `path`)."""
    body = resp.get_json(silent=True)
    assert resp.status_code == 400, (resp.status_code, body)
    assert isinstance(body, dict), body
    assert "errorCode" not in body, body
    errors = body.get("errors")
    assert isinstance(errors, dict) and errors, body
    if path is not None:
        assert path in errors, (path, errors)
    if message is not None:
        pool = errors[path] if path is not None else [m for msgs in errors.values() for m in msgs]
        assert any(message in m for m in pool), (message, errors)
    return body


def ok(resp: Any) -> dict[str, Any]:
    body = resp.get_json(silent=True)
    assert resp.status_code == 200, (resp.status_code, body)
    return body


def org_urn(number: int) -> str:
    return f"urn:altinn:organization:identifier-no:{number:09d}"


def table_names(db: Any) -> list[str]:
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        ).fetchall()
    return [r["tablename"] for r in rows]


def count_all_tables(db: Any) -> dict[str, int]:
    """Row count of every table of the schema (yoyo's bookkeeping tables included: harmless)."""
    counts: dict[str, int] = {}
    names = table_names(db)
    with db.transaction() as conn:
        for name in names:
            counts[name] = conn.execute(f'SELECT count(*) AS n FROM "{name}"').fetchone()["n"]
    return counts


def count_rows_for(db: Any, table: str, column: str, ids: Iterable[str]) -> int:
    with db.transaction() as conn:
        row = conn.execute(
            f"SELECT count(*) AS n FROM {table} WHERE {column} = ANY(%s::uuid[])", (list(ids),)
        ).fetchone()
    return int(row["n"])


def insert_attachment(
    db: Any,
    *,
    sender_org: str = "991825827",
    status: int = 2,
    size: int = 1000,
    resource_id: str = "test-service",
) -> str:
    """A shared attachment row with one status row (2 = Published), as `/attachment` would leave it."""
    attachment_id = str(uuid.uuid4())
    with db.transaction() as conn:
        conn.execute(
            """INSERT INTO attachments (id, resource_id, file_name, senders_reference, sender, attachment_size,
                                        created, service_owner_id)
               VALUES (%s, %s, 'vedlegg.pdf', 'v-1', %s, %s, now(), %s)""",
            (
                attachment_id,
                resource_id,
                f"urn:altinn:organization:identifier-no:{sender_org}",
                size,
                sender_org,
            ),
        )
        conn.execute(
            """INSERT INTO attachment_statuses (id, attachment_id, status, status_text, status_changed)
               VALUES (%s, %s, %s, 'status', now())""",
            (str(uuid.uuid4()), attachment_id, status),
        )
    return attachment_id


def relayed(db: Any, *ids: Any, timeout: float = 10.0) -> None:
    """Wait until the outbox relay has handed these correspondences to the broker (a test that runs
    order creation itself must not race the relay's brief lock on the outbox row)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        with db.transaction() as conn:
            left = conn.execute(
                "SELECT count(*) AS n FROM notification_outbox WHERE correspondence_id = ANY(%s::uuid[]) "
                "AND (xid, correspondence_id) > "
                "(SELECT position_xid, position_uuid FROM work_cursors WHERE name = 'notification_outbox')",
                ([str(i) for i in ids],),
            ).fetchone()["n"]
        if not left:
            return
        assert time.monotonic() < deadline, f"{left} outbox rows never relayed"
        time.sleep(0.02)
