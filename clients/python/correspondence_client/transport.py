"""HTTP with a bearer token, and retries that never repeat what may have been done.

Every request is retried, with exponential backoff (equal jitter) or after the `Retry-After` the
service sent, when the service certainly did nothing:

* 429 (the per-sender rate limit, checked before anything else) and 503 (the service could not
  reach its database: "nothing was stored");
* a connection that could not be opened (refused, connect timeout): nothing was sent;
* 401 once, after asking a refreshing token source (`invalidate()`) for a new token.

An *ambiguous* failure (the request went out but no answer came back: a read timeout, a dropped
connection, 500, 502, 504) is retried only for requests the caller marks safe to repeat (reads, and
actions whose repetition the caller can recognise); otherwise `Ambiguous` is raised for the caller
to decide (see `CorrespondenceClient.initialize`).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from correspondence_client.auth import TokenSource, token_provider
from correspondence_client.errors import ApiError, TransportError

log = logging.getLogger("correspondence_client")
NOTHING_DONE = (429, 503)
AMBIGUOUS_STATUSES = (500, 502, 504)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # per request, the first included
    base_delay: float = 0.5  # seconds; doubled per attempt
    max_delay: float = 30.0
    max_retry_after: float = 300.0  # a longer Retry-After is cut to this
    jitter: bool = True

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after))
        delay = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return delay / 2 + random.uniform(0, delay / 2) if self.jitter else delay


def parse_retry_after(
    value: str | None, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now()).total_seconds())


class Ambiguous(Exception):
    """The request was sent and no usable answer came back: it may or may not have been carried out."""

    def __init__(self, reason: str, response: requests.Response | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response


def _surely_not_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError) or isinstance(
            exc.args[0] if exc.args else None, NewConnectionError
        )
    return False


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class Transport:
    def __init__(
        self,
        base_url: str,
        token: TokenSource,
        *,
        timeout: float | tuple[float, float] = (5.0, 60.0),
        retry: RetryPolicy | None = None,
        user_agent: str = "correspondence-client/0.1",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token_provider(token)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.user_agent = user_agent
        self.sleep = sleep
        self._local = threading.local()
        self.retries = 0  # retries made (all threads), for progress displays and tests

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def request(
        self,
        method: str,
        path: str,
        *,
        repeatable: bool,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        rewind: Callable[[], None] | None = None,
    ) -> requests.Response:
        """The 2xx response; ApiError for another status; TransportError when no answer could be had;
        Ambiguous (only when not `repeatable`) when the request may have been carried out.

        `rewind` is called before every attempt after the first (to seek a file being uploaded)."""
        url = self.base_url + path
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            if attempt > 1 and rewind is not None:
                rewind()
            all_headers = {
                "Authorization": f"Bearer {self.token()}",
                "User-Agent": self.user_agent,
                "Accept": "application/json, text/plain, */*",
                **(headers or {}),
            }
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    files=files,
                    headers=all_headers,
                    timeout=self.timeout,
                    stream=stream,
                )
            except requests.RequestException as exc:
                not_sent = _surely_not_sent(exc)
                if not not_sent and not repeatable:
                    raise Ambiguous(f"{type(exc).__name__}: {exc}") from exc
                if attempt >= self.retry.max_attempts:
                    raise TransportError(f"{method} {url}: {exc}", sent=not not_sent) from exc
                self._wait(attempt, None, f"{type(exc).__name__}")
                continue
            status = response.status_code
            if 200 <= status < 300:
                return response
            if status == 401 and not refreshed and hasattr(self.token, "invalidate"):
                refreshed = True
                self.token.invalidate()  # type: ignore[attr-defined]
                attempt -= 1
                continue
            if status in AMBIGUOUS_STATUSES and not repeatable:
                raise Ambiguous(f"HTTP {status}", response)
            retriable = status in NOTHING_DONE or status in AMBIGUOUS_STATUSES
            if not retriable or attempt >= self.retry.max_attempts:
                raise ApiError(status, _body(response), response.headers, method, url)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            response.close()
            self._wait(attempt, retry_after, f"HTTP {status}")

    def _wait(self, attempt: int, retry_after: float | None, why: str) -> None:
        delay = self.retry.backoff(attempt, retry_after)
        self.retries += 1  # not exact under threads; a display only
        log.debug(
            "retrying after %s in %.2f s (attempt %d of %d)", why, delay, attempt + 1, self.retry.max_attempts
        )
        self.sleep(delay)

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
