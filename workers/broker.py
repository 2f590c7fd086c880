"""The broker as operators see it: reachable or not, and how many messages wait in each queue.

Used by /health (ping) and /metrics (queue depths), for either broker Celery runs on: Redis (a
list per queue, plus one per priority kombu keeps) or RabbitMQ (a passive queue declare).
"""

from __future__ import annotations

from collections.abc import Iterable

import redis
from kombu import Connection
from kombu.exceptions import OperationalError

from workers.celery_app import is_amqp

# kombu's Redis transport keeps each queue's messages in one list per priority step.
REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
TIMEOUT_SECONDS = 2


class Broker:
    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def kind(self) -> str:
        return "rabbitmq" if is_amqp(self.url) else "redis"

    def ping(self) -> None:
        """Raises when the broker does not answer within a couple of seconds."""
        if is_amqp(self.url):
            with Connection(self.url, connect_timeout=TIMEOUT_SECONDS) as conn:
                conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
            return
        client = redis.Redis.from_url(self.url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()

    def queue_depths(self, queues: Iterable[str]) -> dict[str, int]:
        """Messages waiting per queue (not those a worker holds unacknowledged). Raises when the
        broker is unreachable; a queue not declared yet counts 0."""
        names = list(queues)
        if is_amqp(self.url):
            return self._rabbitmq_depths(names)
        client = redis.Redis.from_url(self.url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=2)
        try:
            pipe = client.pipeline(transaction=False)
            for queue in names:
                for suffix in REDIS_PRIORITY_SUFFIXES:
                    pipe.llen(queue + suffix)
            lengths = pipe.execute()
        finally:
            client.close()
        n = len(REDIS_PRIORITY_SUFFIXES)
        return {queue: sum(lengths[i * n : (i + 1) * n]) for i, queue in enumerate(names)}

    def _rabbitmq_depths(self, names: list[str]) -> dict[str, int]:
        depths: dict[str, int] = {}
        with Connection(self.url, connect_timeout=TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
            for name in names:
                channel = conn.channel()  # a failed passive declare closes its channel
                try:
                    depths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except conn.channel_errors:
                    depths[name] = 0
                finally:
                    try:
                        channel.close()
                    except (OSError, *conn.channel_errors):
                        pass
        return depths


BrokerUnavailable = (redis.RedisError, OperationalError, OSError)
