"""A periodic scan that found nothing logs at DEBUG; one that did something, and every other task, at INFO.
(The idle stack as a whole: tests/ops/test_run_stack.py.)"""

from __future__ import annotations

import logging
import time

from tests.api.helpers import ok, post
from tests.conftest import PREFIX, current_celery
from tests.factories import ORG_RECIPIENT, initialize_request
from tests.ops.helpers import json_lines
from workers.celery_app import TASK_PUBLISH_DUE, Queues
from workers.observability import found_nothing, scan_tasks

QUEUE_MAINTENANCE = Queues(PREFIX).maintenance

CELERY_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


def _celery_lines() -> None:
    """What Celery itself logs at INFO around a scan (beat sends it, the worker gets it, it succeeds) and
    another task."""
    logging.getLogger("celery.beat").info(
        "Scheduler: Sending due task %s (%s)", "publish-due", TASK_PUBLISH_DUE
    )
    logging.getLogger("celery.worker.strategy").info(
        "Task %(name)s[%(id)s] received", {"name": TASK_PUBLISH_DUE, "id": "s1"}
    )
    logging.getLogger("celery.app.trace").info(
        "Task %(name)s[%(id)s] succeeded", {"name": TASK_PUBLISH_DUE, "id": "s1"}
    )
    logging.getLogger("celery.app.trace").info(
        "Task %(name)s[%(id)s] succeeded", {"name": "notifications.create_orders", "id": "o1"}
    )
    logging.getLogger("celery.beat").info("beat: Starting...")


def test_celery_lines_about_scans_are_debug_and_the_rest_stay_info():
    with json_lines(*CELERY_LOGGERS, level=logging.INFO) as lines:
        _celery_lines()
    assert [(e["level"], e["message"]) for e in lines] == [
        ("INFO", "Task notifications.create_orders[o1] succeeded"),
        ("INFO", "beat: Starting..."),
    ]
    with json_lines(*CELERY_LOGGERS, level=logging.DEBUG) as lines:  # LOG_LEVEL=DEBUG shows them all
        _celery_lines()
    assert [e["level"] for e in lines] == ["DEBUG", "DEBUG", "DEBUG", "INFO", "INFO"]


def test_the_scans_are_beats_schedule():
    assert TASK_PUBLISH_DUE in scan_tasks() and "notifications.create_orders" not in scan_tasks()
    assert found_nothing(0) and found_nothing(None) and found_nothing({"published": 0, "failed": 0})
    assert not found_nothing(3) and not found_nothing({"published": 0, "failed": 1})


def _scan_lines(timeout: float = 20) -> list[dict]:
    """Send the publish scan; the worker's lines for it, once it has finished."""
    with json_lines("workers.tasks") as lines:
        result = current_celery().send_task(TASK_PUBLISH_DUE, queue=QUEUE_MAINTENANCE)
        written = logging.getLogger("workers.tasks").handlers[-1].stream  # json_lines' buffer
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not any(
            result.id in line and "finished" in line for line in written.getvalue().splitlines()
        ):
            time.sleep(0.05)
    return [e for e in lines if e.get("task_id") == result.id]


def test_a_scan_logs_at_info_only_when_it_found_something(client, sender, worker):
    for _ in range(5):  # earlier tests may have left publications due: drain them
        lines = _scan_lines()
        if found_nothing(lines[-1]["result"]):
            break
    assert [(e["level"], e["message"]) for e in lines] == [
        ("DEBUG", "task lifecycle.publish_due started"),
        ("DEBUG", "task lifecycle.publish_due finished: SUCCESS"),
    ]

    ok(post(client, initialize_request([ORG_RECIPIENT]), sender))  # due at once
    lines = _scan_lines()
    assert [e["level"] for e in lines] == ["DEBUG", "INFO"]
    assert lines[-1]["result"]["published"] >= 1 and lines[-1]["state"] == "SUCCESS"
