"""Notification gateways: where orders are created. `local` (default) or `altinn`."""

from __future__ import annotations

from app.config import WorkerSettings
from app.domain.notification_orders import NotificationGateway


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
    raise RuntimeError(f"unknown NOTIFICATION_GATEWAY {settings.gateway!r} (local or altinn)")
