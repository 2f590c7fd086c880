"""Bearer authentication and scope policies for handlers (DESIGN.md §4, SPEC.md §2.5)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, g, request

from app.api.problems import problem
from app.domain.errors import CorrespondenceError
from app.security.identity import Caller
from app.security.tokens import InvalidToken


def authenticate() -> Caller:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CorrespondenceError(4001)
    verifier = current_app.extensions["correspondence"].verifier
    token = token.strip()
    try:
        claims = verifier.verify(token)
    except InvalidToken as exc:
        current_app.logger.info("rejected token: %s", exc)
        raise CorrespondenceError(4001) from exc
    # A client reuses its token: the verifier answers from its cache with the same claims object,
    # and the caller read from those claims is kept with them (per process, bounded).
    known = _callers.get(token)
    if known is not None and known[0] is claims:
        return known[1]
    caller = Caller.from_claims(claims)
    if len(_callers) >= _CALLERS_KEPT:
        _callers.clear()
    _callers[token] = (claims, caller)
    return caller


_CALLERS_KEPT = 4096
_callers: dict[str, tuple[dict[str, Any], Caller]] = {}


def require_any_scope(
    *scopes: str, check_accept: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Authenticate (401/4001), then require one of the scopes (403), then (JSON endpoints) Accept (406)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            caller = authenticate()
            if not any(caller.has_scope(s) for s in scopes):
                return problem(403, f"The token lacks the required scope ({' or '.join(scopes)}).")
            if check_accept and not accepts_json():
                return Response(
                    "Only application/json is produced by this endpoint.", status=406, mimetype="text/plain"
                )
            g.caller = caller
            return view(*args, **kwargs)

        return wrapper

    return decorator


def accepts_json() -> bool:
    """False when an Accept header is present and names neither application/json nor */*."""
    header = request.headers.get("Accept")
    if not header or not header.strip():
        return True
    for part in header.split(","):
        media = part.split(";")[0].strip().lower()
        if media in {"application/json", "*/*", "application/*", "application/problem+json"}:
            return True
    return False
