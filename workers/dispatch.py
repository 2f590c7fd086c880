"""Enqueueing order creation: many correspondences per message, messages published in one batch."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from celery import Celery

from workers.celery_app import TASK_CREATE_ORDERS
from workers.observability import message_headers

CHUNK = 100


def enqueue_order_creation(celery: Celery, ids: list[uuid.UUID], chunk: int = CHUNK) -> None:
    """Publish create-orders messages of up to `chunk` correspondences through `celery` (routed by
    its configuration); raises if the broker is down."""
    headers = message_headers()  # the request id of the Initialize that caused the work, if any
    with celery.producer_or_acquire() as producer:
        for start in range(0, len(ids), chunk):
            celery.send_task(
                TASK_CREATE_ORDERS,
                args=([str(i) for i in ids[start : start + chunk]], 0),
                producer=producer,
                retry=False,
                headers=headers,
            )


def order_creation_enqueuer(celery: Celery) -> Callable[[list[uuid.UUID]], None]:
    """The relay's and the sweep's enqueue function, bound to one Celery app."""
    return lambda ids: enqueue_order_creation(celery, ids)
