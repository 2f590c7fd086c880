"""Worker configuration from environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class WorkerSettings:
    database_url: str
    gateway: str = "local"
    notifications_url: str | None = None
    notifications_token: str | None = None
    max_attempts: int = 5
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    undispatched_after: timedelta = timedelta(seconds=5)
    redispatch_after: timedelta = timedelta(seconds=120)
    reminder_delay: timedelta = timedelta(days=1)
    public_base_url: str | None = None
    local_gateway_latency_ms: int = 0
    gateway_timeout_seconds: float = 10.0
    claim_lease: timedelta = timedelta(seconds=330)


def load_worker_settings() -> WorkerSettings:
    env = os.environ
    production = env.get("CORRESPONDENCE_ENV", "").lower() == "production"
    return WorkerSettings(
        database_url=env.get("DATABASE_URL", ""),
        gateway=env.get("NOTIFICATION_GATEWAY", "local").lower(),
        notifications_url=env.get("NOTIFICATIONS_URL") or None,
        notifications_token=env.get("NOTIFICATIONS_TOKEN") or None,
        max_attempts=int(env.get("NOTIFICATION_MAX_ATTEMPTS", "5")),
        retry_base_seconds=float(env.get("NOTIFICATION_RETRY_BASE_SECONDS", "2")),
        retry_max_seconds=float(env.get("NOTIFICATION_RETRY_MAX_SECONDS", "300")),
        undispatched_after=timedelta(seconds=float(env.get("OUTBOX_UNDISPATCHED_AFTER_SECONDS", "5"))),
        redispatch_after=timedelta(seconds=float(env.get("OUTBOX_REDISPATCH_AFTER_SECONDS", "120"))),
        reminder_delay=timedelta(days=7 if production else 1),
        public_base_url=env.get("PUBLIC_BASE_URL") or None,
        local_gateway_latency_ms=int(env.get("LOCAL_GATEWAY_LATENCY_MS", "0")),
        gateway_timeout_seconds=float(env.get("NOTIFICATIONS_TIMEOUT_SECONDS", "10")),
        claim_lease=timedelta(seconds=float(env.get("OUTBOX_CLAIM_LEASE_SECONDS", "330"))),
    )
