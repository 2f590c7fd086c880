"""Settings of events to subscribers (docs/sending.md "Events to subscribers"), read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from app.config import LeaseTerms, load_lease_terms
from app.domain.events import RetryPolicy
from app.webhook_secrets import SecretBox, load_secret_box


def _bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class EventSettings:
    allow_private_endpoints: bool = False
    base_url: str = "http://localhost:8080"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 3.0
    timeout: float = 10.0
    per_endpoint: int = 4  # deliveries in flight at once per subscription
    concurrency: int = 16  # posts at once per delivery task
    batch: int = 200  # deliveries claimed per round
    # Failing subscriptions probed per round (one delivery each): they never take every poster thread.
    probes: int = 8
    production: bool = False  # endpoints must then be https:// (loopback http with private endpoints allowed)
    # Claimed deliveries are leased (renewed while they are posted): a dead worker's go to the next scan.
    lease: LeaseTerms = field(default_factory=LeaseTerms)
    max_subscriptions_per_consumer: int = 100
    # Subscriptions' signing secrets at rest (EVENTS_SECRET_KEYS; app/webhook_secrets.py).
    secrets: SecretBox = field(default_factory=SecretBox)


def load_event_settings() -> EventSettings:
    env = os.environ
    production = env.get("CORRESPONDENCE_ENV", "development").lower() == "production"
    return EventSettings(
        allow_private_endpoints=_bool("EVENTS_ALLOW_PRIVATE_ENDPOINTS"),
        base_url=env.get("PUBLIC_BASE_URL") or "http://localhost:8080",
        retry=RetryPolicy(
            base_seconds=float(env.get("EVENTS_RETRY_BASE_SECONDS", "2")),
            max_interval_seconds=float(env.get("EVENTS_RETRY_MAX_INTERVAL_SECONDS", "3600")),
            give_up_after=timedelta(hours=float(env.get("EVENTS_GIVE_UP_AFTER_HOURS", "24"))),
        ),
        connect_timeout=float(env.get("EVENTS_CONNECT_TIMEOUT_SECONDS", "3")),
        timeout=float(env.get("EVENTS_TIMEOUT_SECONDS", "10")),
        per_endpoint=int(env.get("EVENTS_MAX_IN_FLIGHT_PER_ENDPOINT", "4")),
        concurrency=int(env.get("EVENTS_DELIVERY_CONCURRENCY", "16")),
        batch=int(env.get("EVENTS_DELIVERY_BATCH", "200")),
        probes=int(env.get("EVENTS_PROBES_PER_ROUND", "8")),
        production=production,
        lease=load_lease_terms(),
        max_subscriptions_per_consumer=int(env.get("EVENTS_MAX_SUBSCRIPTIONS_PER_CONSUMER", "100")),
        # The data folder as load_settings() reads it: every role of one deployment finds the same key.
        secrets=load_secret_box(Path(env.get("CORRESPONDENCE_DATA_DIR", ".correspondence")), production),
    )
