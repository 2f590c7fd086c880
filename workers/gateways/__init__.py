"""Notification gateways: where orders are created. `local` (default) or `altinn`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.config import WorkerSettings
from app.domain.notification_orders import NotificationGateway

if TYPE_CHECKING:
    from workers.gateways.smtp import SmtpChannel


def make_gateway(settings: WorkerSettings) -> NotificationGateway:
    if settings.gateway == "local":
        from workers.gateways.local import LocalGateway

        return LocalGateway(latency_ms=settings.local_gateway_latency_ms)
    if settings.gateway == "altinn":
        from workers.gateways.altinn import AltinnNotificationsGateway

        if not settings.notifications_url:
            raise RuntimeError("NOTIFICATION_GATEWAY=altinn needs NOTIFICATIONS_URL")
        return AltinnNotificationsGateway(
            settings.notifications_url,
            token=settings.notifications_token,
            timeout=settings.gateway_timeout_seconds,
        )
    if settings.gateway == "smtp":
        from workers.gateways.smtp import SmtpGateway

        email_channel(settings)  # refuse a bad configuration at start, not at the first e-mail
        return SmtpGateway()
    raise RuntimeError(f"unknown NOTIFICATION_GATEWAY {settings.gateway!r} (local, altinn or smtp)")


def email_channel(settings: WorkerSettings) -> SmtpChannel:
    """The smtp gateway's e-mail channel (SMTP_URL, SMTP_FROM)."""
    from workers.gateways.smtp import SmtpChannel, SmtpSettings

    if not settings.smtp_url or not settings.smtp_from:
        raise RuntimeError("NOTIFICATION_GATEWAY=smtp needs SMTP_URL and SMTP_FROM")
    try:
        smtp = SmtpSettings.from_url(settings.smtp_url, timeout=settings.gateway_timeout_seconds)
    except ValueError as exc:
        raise RuntimeError(str(exc)) from exc
    return SmtpChannel(smtp, settings.smtp_from)
