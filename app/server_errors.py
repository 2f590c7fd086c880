"""Problem details for the errors gunicorn answers itself, before the application sees a request:
a malformed request line or header (400), a request line over `limit_request_line` (414), header
fields over `limit_request_fields`/`limit_request_field_size` (431), bad chunked encoding (400), an
unsupported transfer coding (501).

gunicorn writes those answers as HTML through one function, `gunicorn.util.write_error`, and has no
setting for their format; `install()` replaces that function in the gunicorn process. It is called
by `app.wsgi`, so every way of serving the app with gunicorn gets it. The replacement writes the
same status line and `Connection: close`, with an RFC 7807 body.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from app.api.problems import PROBLEM_JSON, TYPES

TYPES_BEYOND_THE_APP = {
    414: "https://tools.ietf.org/html/rfc9110#section-15.5.15",
    417: "https://tools.ietf.org/html/rfc9110#section-15.5.18",
    431: "https://tools.ietf.org/html/rfc6585#section-5",
    501: "https://tools.ietf.org/html/rfc9110#section-15.6.2",
}


def problem_bytes(status: int, reason: str, detail: str) -> bytes:
    """A whole HTTP/1.1 response: the status line, headers and a problem details body."""
    request_id = uuid.uuid4().hex
    body = json.dumps(
        {
            "type": TYPES.get(status) or TYPES_BEYOND_THE_APP.get(status, "about:blank"),
            "title": reason,
            "status": status,
            "detail": detail or reason,
            "traceId": f"00-{request_id}-{request_id[:16]}-01",
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
        f"Content-Length: {len(body)}\r\nX-Request-Id: {request_id}\r\nX-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n\r\n"
    )
    return head.encode("latin-1") + body


def install() -> bool:
    """Make gunicorn write its own error answers as problem details; False when gunicorn is absent."""
    try:
        from gunicorn import util
    except ImportError:  # pragma: no cover - gunicorn is a dependency
        return False

    def write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
        util.write_nonblock(sock, problem_bytes(int(status_int), str(reason), str(mesg)))

    util.write_error = write_error
    return True
