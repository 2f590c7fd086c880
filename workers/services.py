"""What tasks need, built once per worker process from the settings of its Celery app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.config import Settings, WorkerSettings
from app.db.pool import Database
from app.domain.notification_orders import NotificationGateway
from app.usecases.check_deliveries import CheckPolicy
from app.usecases.create_notification_orders import OrderPolicy
from app.usecases.send_emails import EmailPolicy
from workers.gateways import email_channel, make_gateway
from workers.gateways.smtp import SmtpChannel


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
            lease=self.settings.lease,
            reminder_delay=self.settings.reminder_delay,
            base_url=self.settings.public_base_url,
        )

    @property
    def email_policy(self) -> EmailPolicy:
        return EmailPolicy(
            batch=self.settings.email_batch,
            lease=self.settings.lease,
            retry_base_seconds=self.settings.retry_base_seconds,
            retry_max_seconds=self.settings.retry_max_seconds,
            give_up_after=timedelta(seconds=self.settings.email_give_up_seconds),
        )

    @property
    def check_policy(self) -> CheckPolicy:
        return CheckPolicy(
            lease=self.settings.lease,
            first_delay=timedelta(seconds=self.settings.delivery_check_first_seconds),
            give_up_after=timedelta(seconds=self.settings.delivery_check_give_up_seconds),
        )

    @property
    def email_channel(self) -> SmtpChannel | None:
        """The smtp gateway's channel; None with another gateway (nothing to send then)."""
        if self.settings.gateway != "smtp":
            return None
        return email_channel(self.settings)


def build_services(settings: Settings) -> WorkerServices:
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set for the worker")
    return WorkerServices(settings.worker, Database(settings.database_url, 4), make_gateway(settings.worker))
