"""Errors the client raises."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CorrespondenceClientError(Exception):
    """Base class of everything this package raises."""


class ApiError(CorrespondenceClientError):
    """The service answered with an error status (a problem-details body, SPEC §7.4, when it has one).

    `error_code` is the service's numeric code (e.g. 1029) or None for a validation problem
    (then `validation_errors` holds `{path: [messages]}`) and for framework answers (401, 403, 415).
    """

    def __init__(
        self,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.method = method
        self.url = url
        problem = body if isinstance(body, Mapping) else {}
        code = problem.get("errorCode")
        self.error_code: int | None = (
            int(code) if isinstance(code, (int, str)) and str(code).isdigit() else None
        )
        self.title: str | None = problem.get("title")
        self.detail: str | None = (
            problem.get("detail") if problem else (body if isinstance(body, str) else None)
        )
        self.validation_errors: dict[str, list[str]] = dict(problem.get("errors") or {})
        self.trace_id: str | None = problem.get("traceId")
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [str(self.status)]
        if self.error_code is not None:
            parts.append(f"error {self.error_code}")
        if self.detail:
            parts.append(self.detail)
        for path, messages in self.validation_errors.items():
            parts.append(f"{path}: {'; '.join(str(m) for m in messages)}")
        if len(parts) == 1 and self.title:
            parts.append(self.title)
        return " ".join(parts[:1]) + (" " + " – ".join(parts[1:]) if parts[1:] else "")

    @property
    def retriable(self) -> bool:
        """Nothing was stored and a later attempt may succeed (429 rate limit, 503 database down)."""
        return self.status in (429, 503)


class TransportError(CorrespondenceClientError):
    """No answer: the connection failed or timed out (after the client's retries)."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent  # False: the request surely never reached the service


class OutcomeUnknown(CorrespondenceClientError):
    """An Initialize may or may not have been stored, and the client could not find out.

    Raised only for multi-recipient requests (single-recipient ones carry an idempotentKey) when the
    attempts ran out while the service was unreachable for the check too. Check later with
    `CorrespondenceClient.find_initialized(request)` before sending the request again.
    """

    def __init__(self, message: str, request: Any = None) -> None:
        super().__init__(message)
        self.request = request
