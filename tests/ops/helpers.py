"""Capturing log records as the JSON lines the service writes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from app.logs import use_json


@contextmanager
def json_lines(*logger_names: str, level: int = logging.DEBUG) -> Iterator[list[dict]]:
    """Attach a JSON handler to the named loggers; yields the parsed lines (filled on exit)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    use_json(handler)
    handler.setLevel(level)
    loggers = [logging.getLogger(name) for name in logger_names]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(level)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        for logger, old in zip(loggers, previous, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(old)
        raw = stream.getvalue().splitlines()
        lines.extend(json.loads(line) for line in raw if line.strip())
