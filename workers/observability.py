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
from functools import lru_cache
from typing import Any

from celery import signals

from app.logs import Routine, json_logs, request_id_var, task_var, use_json

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


@lru_cache(maxsize=1)
def scan_tasks() -> frozenset[str]:
    """The periodic scans: every task in beat's schedule (publish, due dates, outbox sweep, ...)."""
    from workers.celery_app import SCAN_TASKS

    return SCAN_TASKS


def found_nothing(result: Any) -> bool:
    """A scan's return value when it did nothing: 0, None, empty, or a dict of zeros."""
    if isinstance(result, dict):
        return not any(result.values())
    return not result


def _celery_scan_line(record: logging.LogRecord) -> bool:
    """Celery's own INFO lines about a scan: beat sending it, the worker receiving it, its success."""
    if record.name == "celery.beat":
        return str(record.msg).startswith("Scheduler: Sending due task")
    return isinstance(record.args, dict) and record.args.get("name") in scan_tasks()


# An idle service is quiet at INFO: these lines are DEBUG for the scans (kept for other tasks).
for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(Routine(_celery_scan_line))


@signals.task_prerun.connect
def _enter_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is None or task_id is None:
        return
    rid = request_id_of(task)
    _started[task_id] = (time.perf_counter(), request_id_var.set(rid), task_var.set((task_id, task.name)))
    level = logging.DEBUG if task.name in scan_tasks() else logging.INFO
    log.log(level, "task %s started", task.name, extra={"retries": task.request.retries or 0})


@signals.task_postrun.connect
def _leave_task(
    task_id: str | None = None, task: Any = None, state: str | None = None, retval: Any = None, **_: Any
) -> None:
    entry = _started.pop(task_id, None) if task_id is not None else None
    if entry is None:
        return
    started, rid_token, task_token = entry
    name = getattr(task, "name", "?")
    extra = {"state": state, "duration_ms": round((time.perf_counter() - started) * 1000, 2)}
    level = logging.INFO
    if name in scan_tasks():  # a scan says what it found; one that found nothing logs at DEBUG
        extra["result"] = retval
        if state == "SUCCESS" and found_nothing(retval):
            level = logging.DEBUG
    log.log(level, "task %s finished: %s", name, state, extra=extra)
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
