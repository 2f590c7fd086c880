"""Helpers for lifecycle tests: create, publish, act as recipient."""

from __future__ import annotations

import uuid
from typing import Any

from app.db.repositories import correspondences as correspondence_repo
from app.usecases.publish_correspondences import publish_due
from tests.api.helpers import URL, ok, post
from tests.conftest import READ
from tests.factories import PERSON_RECIPIENT, initialize_request

PERSON_PID = PERSON_RECIPIENT.rsplit(":", 1)[1]


def create(client, sender, recipients=None, **correspondence: Any) -> list[str]:
    answer = ok(post(client, initialize_request(recipients or [PERSON_RECIPIENT], **correspondence), sender))
    return [c["correspondenceId"] for c in answer["correspondences"]]


def publish_now(db) -> None:
    while publish_due(db).jobs:
        pass


def recipient_headers(tokens, pid: str = PERSON_PID) -> dict[str, str]:
    return tokens.headers(org=None, pid=pid, scopes=(READ,))


def statuses_of(db, cid: str) -> list[int]:
    """The status history as every read sees it (Initialized first, derived; then the stored rows)."""
    with db.transaction() as conn:
        row = correspondence_repo.get_correspondence(conn, uuid.UUID(cid))
    assert row is not None
    return [s["status"] for s in row["statuses"]]


def action(client, cid: str, name: str, headers: dict[str, str]):
    if name == "purge":
        return client.delete(f"{URL}/{cid}/purge", headers=headers)
    return client.post(f"{URL}/{cid}/{name}", headers=headers)
