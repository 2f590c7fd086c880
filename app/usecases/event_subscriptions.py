"""Subscriptions to events (Altinn Events' shape): create, list, get, delete.

A sender (write scope) subscribes to resources its organization owns, any subject; a recipient (read
scope) to its own subject, or a party it may act for (the authorization seam). The endpoint is checked
against the SSRF rules here and again at every delivery (https:// only in production). The
subscription starts `pending`: deliveries collect for it meanwhile, and its validation event is its
first delivery; a 2xx answer to it makes it `active` (a worker sends it, never the request thread),
and the waiting deliveries go out. Failing validation for good drops them (`statusReason` says why).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from app.db.pool import Database
from app.db.repositories import events as repo
from app.db.repositories import registry as registry_repo
from app.domain.endpoints import EndpointRefused, resolve_endpoint
from app.domain.events import NAMES, RESOURCE_PREFIX, TYPE_PREFIX, new_secret, validation_event
from app.events_settings import EventSettings
from app.security.identity import READ_SCOPE, WRITE_SCOPE, Caller
from app.security.jwks import is_loopback_host
from app.usecases.authorization import may_act_for
from app.webhook_secrets import SecretBox, SecretsUnavailable


class SubscriptionProblem(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def create_subscription(
    db: Database, caller: Caller, body: dict[str, Any], settings: EventSettings
) -> dict[str, Any]:
    end_point, resource_filter = body["end_point"], body["resource_filter"]
    type_filter, subject_filter = body.get("type_filter"), body.get("subject_filter")
    if not resource_filter.startswith(RESOURCE_PREFIX) or len(resource_filter) == len(RESOURCE_PREFIX):
        raise SubscriptionProblem(400, f"resourceFilter must be {RESOURCE_PREFIX}<resourceId>")
    if type_filter is not None and (
        not type_filter.startswith(TYPE_PREFIX) or type_filter[len(TYPE_PREFIX) :] not in NAMES
    ):
        raise SubscriptionProblem(400, f"typeFilter must be {TYPE_PREFIX}<event name> (SPEC.md §5.8)")
    party = caller.party_urn
    if party is None:
        raise SubscriptionProblem(403, "The token names no party to subscribe for.")
    parts = urlsplit(end_point)
    plain_http_allowed = settings.allow_private_endpoints and is_loopback_host(parts.hostname)
    if settings.production and parts.scheme.lower() != "https" and not plain_http_allowed:
        raise SubscriptionProblem(
            400,
            "endPoint must be https:// in production (http:// only on loopback, private endpoints allowed)",
        )
    try:
        resolve_endpoint(end_point, allow_private=settings.allow_private_endpoints)
    except EndpointRefused as exc:
        raise SubscriptionProblem(400, f"endPoint refused: {exc}") from exc
    secret = new_secret()
    with db.transaction() as conn:
        resource = registry_repo.get_resource(conn, resource_filter[len(RESOURCE_PREFIX) :])
        owns = (
            resource is not None
            and caller.organization is not None
            and resource.owner_org_number == caller.organization
        )
        if caller.has_scope(WRITE_SCOPE) and owns:
            created_by = "sender"
        elif caller.has_scope(READ_SCOPE) and resource is not None:
            # Itself, or a party it may act for (an organization a person has access for).
            subject_filter = subject_filter or party
            if not may_act_for(conn, caller, subject_filter, resource.id):
                raise SubscriptionProblem(
                    403, "A recipient subscribes only to its own subject or a party it may act for."
                )
            created_by = "recipient"
        else:
            raise SubscriptionProblem(
                403,
                "Only the resource's owner (write scope) or a recipient (read scope, "
                "its own subject) may subscribe to this resource.",
            )
        if repo.count_subscriptions(conn, party) >= settings.max_subscriptions_per_consumer:
            raise SubscriptionProblem(409, "Too many subscriptions for this party.")
        try:
            stored_secret = settings.secrets.seal(secret)  # never stored in clear
        except SecretsUnavailable as exc:
            raise SubscriptionProblem(503, f"Subscriptions cannot be created now: {exc}") from None
        subscription_id = repo.create_subscription(
            conn,
            end_point=end_point,
            resource_filter=resource_filter,
            type_filter=type_filter,
            subject_filter=subject_filter,
            consumer=party,
            created_by=created_by,
            secret=stored_secret,
        )
        repo.add_validation(
            conn,
            subscription_id,
            validation_event(subscription_id, settings.base_url, datetime.now(UTC)),
        )
        row = repo.get_subscription(conn, subscription_id)
    assert row is not None  # inserted by this transaction
    answer = present(row)
    answer["secret"] = secret
    return answer


def list_subscriptions(db: Database, caller: Caller) -> list[dict[str, Any]]:
    if caller.party_urn is None:
        return []
    with db.transaction() as conn:
        return [present(r) for r in repo.list_subscriptions(conn, caller.party_urn)]


def get_subscription(db: Database, caller: Caller, subscription_id: int) -> dict[str, Any]:
    with db.transaction() as conn:
        return present(_own(conn, caller, subscription_id))


def delete_subscription(db: Database, caller: Caller, subscription_id: int) -> None:
    with db.transaction() as conn:
        _own(conn, caller, subscription_id)
        repo.delete_subscription(conn, subscription_id)


def _own(conn: Any, caller: Caller, subscription_id: int) -> dict[str, Any]:
    row = repo.get_subscription(conn, subscription_id) if 0 < subscription_id < 2**63 else None
    if row is None or caller.party_urn is None or row["consumer"] != caller.party_urn:
        raise SubscriptionProblem(404, "No such subscription.")
    return row


def present(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "endPoint": row["end_point"],
        "resourceFilter": row["resource_filter"],
        "typeFilter": row["type_filter"],
        "subjectFilter": row["subject_filter"],
        "consumer": row["consumer"],
        "createdBy": row["created_by"],
        "created": row["created"].isoformat(),
        "validated": row["validated"].isoformat() if row["validated"] else None,
        "status": row["status"],
        # Why a subscription failed for good (its waiting deliveries were dropped), and whether it is
        # backed off now (its last deliveries failed: one probe at a time until one succeeds).
        "statusReason": row["status_reason"],
        "consecutiveFailures": row["failures"],
        "nextProbe": row["next_probe_at"].isoformat() if row["next_probe_at"] else None,
        "deliveries": {"delivered": row["delivered"], "pending": row["pending"], "failed": row["failed"]},
    }


def reseal_secrets(db: Database, box: SecretBox) -> int:
    """Every subscription's secret sealed with the first key of `box` (clear ones encrypted, ones
    sealed with an older key re-encrypted): run after a new key is put first, before the old one is
    dropped. Returns how many were rewritten."""
    changed = 0
    with db.transaction() as conn:
        for row in repo.subscription_secrets(conn):
            repo.set_subscription_secret(conn, row["id"], box.reseal(row["secret"]))
            changed += 1
    return changed
