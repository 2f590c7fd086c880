"""Enqueueing order creation: many correspondences per message, messages published in one batch."""

from __future__ import annotations

import uuid

from workers.celery_app import QUEUE_NOTIFICATIONS, TASK_CREATE_ORDERS, app
from workers.observability import message_headers

CHUNK = 100


def enqueue_order_creation(ids: list[uuid.UUID], chunk: int = CHUNK) -> None:
    """Publish create-orders messages of up to `chunk` correspondences; raises if the broker is down."""
    headers = message_headers()  # the request id of the Initialize that caused the work, if any
    with app.producer_or_acquire() as producer:
        for start in range(0, len(ids), chunk):
            app.send_task(
                TASK_CREATE_ORDERS,
                args=([str(i) for i in ids[start : start + chunk]], 0),
                queue=QUEUE_NOTIFICATIONS,
                producer=producer,
                retry=False,
                headers=headers,
            )
