"""Configuration from environment variables, read in one place (`load_settings`) for every role:
the web app, the Celery app and its workers (`workers.celery_app.create_celery`), the relay."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str) -> list[str]:
    raw = os.environ.get(name, "")
    return [part.strip() for part in raw.split(",") if part.strip()]


@dataclass(frozen=True)
class BrokerSettings:
    """Celery's broker and queues, and beat's scan intervals."""

    # BROKER_URL (amqp://… for RabbitMQ), else REDIS_URL, else the local Redis.
    url: str = "redis://127.0.0.1:6379/0"
    # Queue names carry it, so that deployments or test runs can share one broker.
    queue_prefix: str = "correspondence"
    # RabbitMQ: deliveries of one message before it is moved to `<prefix>.dead`.
    delivery_limit: int = 5
    # Redis: seconds before a message a worker took and never acknowledged is delivered again.
    visibility_timeout: int = 600
    relay_interval_seconds: float = 5.0
    publish_interval_seconds: float = 1.0
    events_interval_seconds: float = 1.0


@dataclass(frozen=True)
class LeaseTerms:
    """How a worker holds the rows it works on without a transaction open (app/usecases/lease.py):
    a lease of `seconds` that the working task renews every `renew_seconds`. Nobody takes a row
    before its lease passes; a worker that dies stops renewing, so its rows are free at most
    `seconds` after it died."""

    seconds: float = 20.0
    renew_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < 2 * self.renew_seconds < self.seconds:
            raise ValueError(
                "WORKER_LEASE_SECONDS must be more than twice WORKER_LEASE_RENEW_SECONDS "
                f"(got {self.seconds} and {self.renew_seconds})"
            )

    @property
    def margin(self) -> float:
        """Lease time that must surely be left for a call out (gateway, webhook) to start: what is
        left after one missed renewal (10 s by default, the calls' timeout)."""
        return self.seconds - 2 * self.renew_seconds


@dataclass(frozen=True)
class WorkerSettings:
    """What the workers' tasks need besides the database: the notification gateway and the policies
    of order creation and of the outbox."""

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
    # The lease on the outbox rows a worker creates orders for (renewed while it works).
    lease: LeaseTerms = field(default_factory=LeaseTerms)
    # The relay: how often it looks without a wake-up, and how long a wake-up waits for more commits.
    relay_idle_seconds: float = 1.0
    relay_batch_window_ms: float = 100.0
    # NOTIFICATION_GATEWAY=smtp: the server (smtp://user:pass@host:port[?starttls=true], smtps://…),
    # the From address, how many addresses one task leases at a time, how often beat looks for due
    # e-mails, and how long a temporary failure is retried before the address is Failed.
    smtp_url: str | None = None
    smtp_from: str | None = None
    email_batch: int = 100
    email_interval_seconds: float = 2.0
    email_give_up_seconds: float = 24 * 3600.0
    # NOTIFICATION_GATEWAY=altinn: the first look at an order's delivery after its send time, and
    # when to stop looking (the addresses not final then are Failed, reason "unknown").
    delivery_check_first_seconds: float = 300.0
    delivery_check_give_up_seconds: float = 10 * 24 * 3600.0


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    redis_url: str | None
    data_dir: Path
    port: int
    jwks_url: str | None
    public_keys: list[str] = field(default_factory=list)
    issuer: str | None = None
    # Accepted issuers (JWT_ISSUERS), each verified with the keys of its OpenID discovery document.
    issuers: list[str] = field(default_factory=list)
    audiences: list[str] = field(default_factory=list)
    jwks_min_refetch_seconds: float = 10.0
    jwks_max_age_seconds: float = 300.0
    dev_keys: bool = True
    require_known_recipients: bool = False
    # How long a web process keeps the resources and parties Initialize read (0: read every time).
    registry_cache_seconds: float = 5.0
    max_request_bytes: int = 10 * 1024 * 1024
    db_pool_max: int = 10
    # `Prefer: wait` requests waiting at once in one web process; past it Initialize answers at once.
    max_waiters: int = 16
    # How long an Idempotency-Key (header) is remembered.
    idempotency_retention: timedelta = timedelta(hours=24)
    # /metrics: the bearer token it needs (None: open, except in production where it is then off),
    # and how long a process keeps the database and broker figures it read.
    metrics_token: str | None = None
    metrics_cache_seconds: float = 5.0
    environment: str = "development"
    storage_dir: Path | None = None  # attachment files; None = <data_dir>/attachments
    # Celery's broker: BROKER_URL (amqp://… for RabbitMQ), else REDIS_URL.
    celery_broker_url: str | None = None
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)

    @property
    def broker_url(self) -> str | None:
        return self.celery_broker_url or self.redis_url

    @property
    def dev_key_path(self) -> Path:
        return self.data_dir / "keys" / "dev-signing-key.pem"

    @property
    def attachments_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "attachments"

    @property
    def is_production(self) -> bool:
        return self.environment.lower() == "production"

    def identity_problems(self) -> list[str]:
        """Why this identity setup may not serve (empty: it may). Production never trusts the
        development key and needs a real issuer or key."""
        from app.security.jwks import url_problem

        problems = [f"JWT_ISSUERS: {p}" for p in map(url_problem, self.issuers) if p]
        if self.is_production:
            if self.dev_keys:
                problems.append(
                    "DEV_TOKENS is on: the development signing key is never trusted in production "
                    "(unset DEV_TOKENS)"
                )
            if not (self.issuers or self.public_keys or self.jwks_url):
                problems.append(
                    "no token issuer or key is configured: set JWT_ISSUERS (comma-separated issuer "
                    "URLs, e.g. https://maskinporten.no/,https://platform.altinn.no/authentication/"
                    "api/v1/openid/), or JWKS_URL or JWT_PUBLIC_KEYS"
                )
        return problems


DEV_ISSUER = "urn:correspondence:dev-token-issuer"


def _seconds(name: str, default: float) -> timedelta:
    return timedelta(seconds=float(os.environ.get(name, str(default))))


def load_broker_settings() -> BrokerSettings:
    env = os.environ
    return BrokerSettings(
        url=env.get("BROKER_URL") or env.get("REDIS_URL") or BrokerSettings.url,
        queue_prefix=env.get("CORRESPONDENCE_QUEUE_PREFIX") or BrokerSettings.queue_prefix,
        delivery_limit=int(env.get("BROKER_DELIVERY_LIMIT", "5")),
        visibility_timeout=int(env.get("BROKER_VISIBILITY_TIMEOUT", "600")),
        relay_interval_seconds=float(env.get("OUTBOX_RELAY_INTERVAL_SECONDS", "5")),
        publish_interval_seconds=float(env.get("PUBLISH_SCAN_INTERVAL_SECONDS", "1")),
        events_interval_seconds=float(env.get("EVENTS_SCAN_INTERVAL_SECONDS", "1")),
    )


def load_lease_terms() -> LeaseTerms:
    """The one lease rule of every leased work (order creation, event deliveries)."""
    return LeaseTerms(
        seconds=float(os.environ.get("WORKER_LEASE_SECONDS", "20")),
        renew_seconds=float(os.environ.get("WORKER_LEASE_RENEW_SECONDS", "5")),
    )


def load_worker_settings(production: bool) -> WorkerSettings:
    env = os.environ
    return WorkerSettings(
        gateway=env.get("NOTIFICATION_GATEWAY", "local").lower(),
        notifications_url=env.get("NOTIFICATIONS_URL") or None,
        notifications_token=env.get("NOTIFICATIONS_TOKEN") or None,
        max_attempts=int(env.get("NOTIFICATION_MAX_ATTEMPTS", "5")),
        retry_base_seconds=float(env.get("NOTIFICATION_RETRY_BASE_SECONDS", "2")),
        retry_max_seconds=float(env.get("NOTIFICATION_RETRY_MAX_SECONDS", "300")),
        undispatched_after=_seconds("OUTBOX_UNDISPATCHED_AFTER_SECONDS", 5),
        redispatch_after=_seconds("OUTBOX_REDISPATCH_AFTER_SECONDS", 120),
        reminder_delay=timedelta(days=7 if production else 1),
        public_base_url=env.get("PUBLIC_BASE_URL") or None,
        local_gateway_latency_ms=int(env.get("LOCAL_GATEWAY_LATENCY_MS", "0")),
        gateway_timeout_seconds=float(env.get("NOTIFICATIONS_TIMEOUT_SECONDS", "10")),
        lease=load_lease_terms(),
        relay_idle_seconds=float(env.get("RELAY_IDLE_SECONDS", "1")),
        relay_batch_window_ms=float(env.get("RELAY_BATCH_WINDOW_MS", "100")),
        smtp_url=env.get("SMTP_URL") or None,
        smtp_from=env.get("SMTP_FROM") or None,
        email_batch=int(env.get("EMAIL_BATCH", "100")),
        email_interval_seconds=float(env.get("EMAIL_INTERVAL_SECONDS", "2")),
        email_give_up_seconds=float(env.get("EMAIL_GIVE_UP_SECONDS", str(24 * 3600))),
        delivery_check_first_seconds=float(env.get("DELIVERY_CHECK_FIRST_SECONDS", "300")),
        delivery_check_give_up_seconds=float(env.get("DELIVERY_CHECK_GIVE_UP_SECONDS", str(10 * 24 * 3600))),
    )


def load_settings() -> Settings:
    public_keys = _list("JWT_PUBLIC_KEYS")
    jwks_url = os.environ.get("JWKS_URL") or None
    issuers = _list("JWT_ISSUERS")
    environment = os.environ.get("CORRESPONDENCE_ENV", "development")
    production = environment.lower() == "production"
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or None,
        redis_url=os.environ.get("REDIS_URL") or None,
        celery_broker_url=os.environ.get("BROKER_URL") or None,
        data_dir=Path(os.environ.get("CORRESPONDENCE_DATA_DIR", ".correspondence")).resolve(),
        port=int(os.environ.get("PORT", "8080")),
        jwks_url=jwks_url,
        public_keys=public_keys,
        issuer=os.environ.get("JWT_ISSUER") or None,
        issuers=issuers,
        audiences=_list("JWT_AUDIENCE"),
        jwks_min_refetch_seconds=float(os.environ.get("JWKS_MIN_REFETCH_SECONDS", "10")),
        jwks_max_age_seconds=float(os.environ.get("JWKS_CACHE_SECONDS", "300")),
        # The development signing key is trusted unless turned off explicitly, or unless real
        # keys are configured and DEV_TOKENS is not asked for; never in production (asking for it
        # there refuses to start: Settings.identity_problems).
        dev_keys=_bool("DEV_TOKENS", default=not (production or public_keys or jwks_url or issuers)),
        require_known_recipients=_bool("REQUIRE_KNOWN_RECIPIENTS"),
        registry_cache_seconds=float(os.environ.get("REGISTRY_CACHE_SECONDS", "5")),
        max_request_bytes=int(os.environ.get("MAX_REQUEST_BYTES", str(10 * 1024 * 1024))),
        db_pool_max=int(os.environ.get("DB_POOL_MAX", "10")),
        max_waiters=int(os.environ.get("PREFER_WAIT_MAX_WAITERS", "16")),
        idempotency_retention=timedelta(hours=float(os.environ.get("IDEMPOTENCY_KEY_TTL_HOURS", "24"))),
        metrics_token=os.environ.get("METRICS_TOKEN") or None,
        metrics_cache_seconds=float(os.environ.get("METRICS_CACHE_SECONDS", "5")),
        environment=environment,
        broker=load_broker_settings(),
        worker=load_worker_settings(production),
        storage_dir=Path(os.environ["STORAGE_DIR"]).resolve() if os.environ.get("STORAGE_DIR") else None,
    )
