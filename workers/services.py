"""What tasks need, built once per worker process from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from app.db.pool import Database
from app.domain.notification_orders import NotificationGateway
from app.usecases.create_notification_orders import OrderPolicy
from workers.gateways import make_gateway
from workers.settings import WorkerSettings, load_worker_settings


@dataclass
class WorkerServices:
    settings: WorkerSettings
    db: Database
    gateway: NotificationGateway

    @property
    def order_policy(self) -> OrderPolicy:
        return OrderPolicy(
            max_attempts=self.settings.max_attempts,
            retry_base=timedelta(seconds=self.settings.retry_base_seconds),
            retry_max=timedelta(seconds=self.settings.retry_max_seconds),
            lease=self.settings.claim_lease,
            reminder_delay=self.settings.reminder_delay,
            base_url=self.settings.public_base_url,
        )


_override: WorkerServices | None = None


@lru_cache(maxsize=1)
def _from_environment() -> WorkerServices:
    settings = load_worker_settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set for the worker")
    return WorkerServices(settings, Database(settings.database_url, 4), make_gateway(settings))


def get_services() -> WorkerServices:
    return _override or _from_environment()


def override_services(services: WorkerServices | None) -> None:
    """Tests running an in-process worker hand in their own database and gateway."""
    global _override
    _override = services
