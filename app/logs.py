"""Logging setup shared by the CLI, the web process and the workers."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

# The request being served (web) or the request that caused the task being run (workers).
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# The Celery task being run, if any: (task id, task name).
task_var: ContextVar[tuple[str, str] | None] = ContextVar("task", default=None)

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
}


class RequestIdFilter(logging.Filter):
    """Puts the current request id (and task) on every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, task, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        task = task_var.get()
        if task is not None:
            entry["task_id"], entry["task"] = task
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class Routine(logging.Filter):
    """Routine lines (a periodic scan that found nothing, say) are DEBUG: an idle service is quiet at INFO.

    Put on the logger that emits them, for lines a library logs at INFO: an INFO record that
    `is_routine` picks becomes a DEBUG record, kept only when that logger has DEBUG enabled.
    """

    def __init__(self, is_routine: Callable[[logging.LogRecord], bool]) -> None:
        super().__init__()
        self.is_routine = is_routine

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not self.is_routine(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def json_logs() -> bool:
    """JSON lines unless LOG_FORMAT=text."""
    return os.environ.get("LOG_FORMAT", "json").strip().lower() != "text"


def use_json(handler: logging.Handler) -> None:
    handler.setFormatter(JsonFormatter())
    if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
        handler.addFilter(RequestIdFilter())


def configure_logging() -> None:
    # No line format of this process shows the caller's file and line, the thread or the
    # multiprocessing name: skip looking them up for every record (the logging HOWTO's
    # "Optimization"; the access log writes a line per request). The process id stays: gunicorn's
    # own text format prints it.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # Libraries that narrate each step at INFO (the embedded PostgreSQL's start and stop, every
        # migration step): warnings only, so that the lines a newcomer needs stay on the screen.
        for name in ("pgserver", "yoyo"):
            logging.getLogger(name).setLevel(logging.WARNING)
    if json_logs():
        # gunicorn's own loggers (set up before the app is imported) get the same line format.
        for logger_name in (None, "gunicorn.error", "gunicorn.access"):
            for handler in logging.getLogger(logger_name).handlers:
                use_json(handler)
