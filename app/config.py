"""Configuration from environment variables (DESIGN.md §8). Read once per process."""

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
class Settings:
    database_url: str | None
    redis_url: str | None
    data_dir: Path
    port: int
    jwks_url: str | None
    public_keys: list[str] = field(default_factory=list)
    issuer: str | None = None
    audience: str | None = None
    dev_keys: bool = True
    require_known_recipients: bool = False
    max_request_bytes: int = 10 * 1024 * 1024
    db_pool_max: int = 10
    # `Prefer: wait` requests waiting at once in one web process; past it Initialize answers at once.
    max_waiters: int = 16
    # How long an Idempotency-Key (header) is remembered.
    idempotency_retention: timedelta = timedelta(hours=24)
    environment: str = "development"
    storage_dir: Path | None = None  # attachment files; None = <data_dir>/attachments
    # Celery's broker: BROKER_URL (amqp://… for RabbitMQ), else REDIS_URL.
    celery_broker_url: str | None = None

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


DEV_ISSUER = "urn:correspondence:dev-token-issuer"


def load_settings() -> Settings:
    public_keys = _list("JWT_PUBLIC_KEYS")
    jwks_url = os.environ.get("JWKS_URL") or None
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or None,
        redis_url=os.environ.get("REDIS_URL") or None,
        celery_broker_url=os.environ.get("BROKER_URL") or None,
        data_dir=Path(os.environ.get("CORRESPONDENCE_DATA_DIR", ".correspondence")).resolve(),
        port=int(os.environ.get("PORT", "8080")),
        jwks_url=jwks_url,
        public_keys=public_keys,
        issuer=os.environ.get("JWT_ISSUER") or None,
        audience=os.environ.get("JWT_AUDIENCE") or None,
        # The development signing key is trusted unless turned off explicitly, or unless real
        # keys are configured and DEV_TOKENS is not asked for.
        dev_keys=_bool("DEV_TOKENS", default=not (public_keys or jwks_url)),
        require_known_recipients=_bool("REQUIRE_KNOWN_RECIPIENTS"),
        max_request_bytes=int(os.environ.get("MAX_REQUEST_BYTES", str(10 * 1024 * 1024))),
        db_pool_max=int(os.environ.get("DB_POOL_MAX", "10")),
        max_waiters=int(os.environ.get("PREFER_WAIT_MAX_WAITERS", "16")),
        idempotency_retention=timedelta(hours=float(os.environ.get("IDEMPOTENCY_KEY_TTL_HOURS", "24"))),
        environment=os.environ.get("CORRESPONDENCE_ENV", "development"),
        storage_dir=Path(os.environ["STORAGE_DIR"]).resolve() if os.environ.get("STORAGE_DIR") else None,
    )
