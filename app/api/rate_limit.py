"""Per-caller rate limit on every write operation: a token bucket in Redis (one Lua script, atomic),
429 with Retry-After. Each write view carries `@rate_limited` (one bucket per caller for all of them).

Configured by RATE_LIMIT_PER_SECOND (tokens added per second) and RATE_LIMIT_BURST (bucket size,
default max(1, rate)); off when RATE_LIMIT_PER_SECOND is unset or 0. Every gunicorn worker and host
shares the bucket through Redis. If Redis cannot be reached the request is let through (fail open):
the limiter protects the service, it must not take the writes down with it.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

import redis
from flask import Flask, current_app, g

from app.api.blueprint import Blueprint
from app.api.problems import PROBLEM_JSON, problem
from app.schemas.problems import ProblemDetailsSchema

log = logging.getLogger(__name__)

EXTENSION = "rate_limiter"

# KEYS[1] bucket; ARGV: rate (tokens/s), burst, cost. Time from the Redis server, so that the
# clocks of the web hosts do not matter. Returns {allowed 0/1, seconds until `cost` tokens, tokens left}.
TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(wait), tostring(tokens)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float
    remaining: float


class TokenBucketLimiter:
    def __init__(self, client: redis.Redis, rate: float, burst: float, prefix: str) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.client = client
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self._script = client.register_script(TOKEN_BUCKET)

    def take(self, sender: str, cost: int = 1) -> Decision:
        allowed, wait, remaining = self._script(
            keys=[f"{self.prefix}:{sender}"], args=[self.rate, self.burst, cost]
        )
        return Decision(bool(int(allowed)), float(wait), float(remaining))


def limiter_from_environment(redis_url: str | None) -> TokenBucketLimiter | None:
    rate = float(os.environ.get("RATE_LIMIT_PER_SECOND") or 0)
    if rate <= 0:
        return None
    if not redis_url:
        log.warning("RATE_LIMIT_PER_SECOND is set but REDIS_URL is not: no rate limit")
        return None
    burst = float(os.environ.get("RATE_LIMIT_BURST") or 0) or max(1.0, rate)
    prefix = f"{os.environ.get('CORRESPONDENCE_QUEUE_PREFIX', 'correspondence')}.ratelimit"
    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return TokenBucketLimiter(client, rate, max(1.0, burst), prefix)


def init_app(app: Flask, redis_url: str | None) -> None:
    app.extensions[EXTENSION] = limiter_from_environment(redis_url)


_doc = Blueprint("rate_limit_doc", __name__)  # only lends its alt_response decorator to views


def rate_limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """Per-sender limit for a view behind `require_any_scope` (g.caller set); put it right above the view."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        limiter: TokenBucketLimiter | None = current_app.extensions.get(EXTENSION)
        if limiter is None:
            return view(*args, **kwargs)
        caller = g.caller
        sender = caller.organization or caller.party_urn or "anonymous"
        try:
            decision = limiter.take(sender)
        except redis.RedisError as exc:
            log.warning("rate limiter unavailable, request let through: %s", exc)
            return view(*args, **kwargs)
        if not decision.allowed:
            retry_after = max(1, math.ceil(decision.retry_after))
            return problem(
                429,
                f"Too many requests from {sender}: at most {limiter.rate:g} per second "
                f"(burst {limiter.burst:g}). Retry after {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )
        return view(*args, **kwargs)

    return _doc.alt_response(
        429,
        description="Too many requests from this sender (problem details); see Retry-After",
        schema=ProblemDetailsSchema,
        content_type=PROBLEM_JSON,
        headers={"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    )(wrapper)
