"""Bearer tokens: a fixed string, or a callable that returns a (fresh) token.

`TokenCache` wraps a function that fetches a token (from Maskinporten, an Altinn token exchange or
anything else) and keeps it until shortly before its `exp` (read from the JWT payload, not verified:
verification is the service's business), fetching again when the service answers 401.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Union

TokenSource = Union[str, Callable[[], str]]


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (seconds since the epoch), or None when there is none to read."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        exp = json.loads(base64.urlsafe_b64decode(payload)).get("exp")
        return float(exp) if exp is not None else None
    except (IndexError, ValueError, TypeError, AttributeError):
        return None


class TokenCache:
    """Calls `fetch()` for a token when there is none, when it expires within `margin` seconds,
    or after `invalidate()` (the client calls it on a 401). Thread-safe."""

    def __init__(
        self,
        fetch: Callable[[], str],
        margin: float = 60.0,
        default_ttl: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._margin = margin
        self._default_ttl = default_ttl
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        self.fetches = 0

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires - self._margin:
                token = self._fetch()
                self.fetches += 1
                exp = jwt_expiry(token)
                self._token = token
                self._expires = exp if exp is not None else self._clock() + self._default_ttl
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None


class _Static:
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self) -> str:
        return self.token


def token_provider(source: TokenSource) -> Callable[[], str]:
    if isinstance(source, str):
        return _Static(source)
    if callable(source):
        return source
    raise TypeError("token must be a string or a callable returning one")
