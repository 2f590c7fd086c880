"""Worker-side observability: JSON log lines, and the request id that caused a task in its logs.

The web request publishes its messages with a `request_id` header (workers/dispatch.py); here a
`task_prerun` handler puts it (and the task) into the logging context for the task's run, so every
line the task logs carries it, and `task_postrun` clears it. Messages published while a task runs
(retries, follow-up work) inherit the id through `before_task_publish`. Imported by
workers/celery_app.py.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from celery import signals

from app.logs import json_logs, request_id_var, task_var, use_json

REQUEST_ID_HEADER = "request_id"

log = logging.getLogger("workers.tasks")

_started: dict[str, tuple[float, Any, Any]] = {}


def message_headers(request_id: str | None = None) -> dict[str, str]:
    """Headers for a task message published on behalf of the current request (or task)."""
    rid = request_id or request_id_var.get()
    return {REQUEST_ID_HEADER: rid} if rid else {}


def request_id_of(task: Any) -> str | None:
    value = getattr(task.request, REQUEST_ID_HEADER, None)
    if value is None and isinstance(getattr(task.request, "headers", None), dict):
        value = task.request.headers.get(REQUEST_ID_HEADER)  # older message layouts nest custom headers
    return value if isinstance(value, str) and value else None


@signals.before_task_publish.connect
def _inherit_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is not None and not headers.get(REQUEST_ID_HEADER):
        rid = request_id_var.get()
        if rid:
            headers[REQUEST_ID_HEADER] = rid


@signals.task_prerun.connect
def _enter_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is None or task_id is None:
        return
    rid = request_id_of(task)
    _started[task_id] = (time.perf_counter(), request_id_var.set(rid), task_var.set((task_id, task.name)))
    log.info("task %s started", task.name, extra={"retries": task.request.retries or 0})


@signals.task_postrun.connect
def _leave_task(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    entry = _started.pop(task_id, None) if task_id is not None else None
    if entry is None:
        return
    started, rid_token, task_token = entry
    log.info("task %s finished: %s", getattr(task, "name", "?"), state,
             extra={"state": state, "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
    for var, token in ((request_id_var, rid_token), (task_var, task_token)):
        try:
            var.reset(token)
        except ValueError:  # set in another context: clear instead
            var.set(None)


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _json_lines(logger: logging.Logger | None = None, **_: Any) -> None:
    """`celery worker` / `celery beat` configure their own handlers: give them the JSON format."""
    if logger is None or not json_logs():
        return
    for handler in logger.handlers:
        use_json(handler)
