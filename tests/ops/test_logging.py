"""Structured logs: one JSON object per line with the request id, carried into the tasks a request causes."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime

from tests.api.helpers import FULL_NOTIFICATION, ok, post
from tests.factories import ORG_RECIPIENT, initialize_request
from tests.ops.helpers import json_lines

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_access_log_is_one_json_object_per_request_with_the_request_id(client):
    rid = f"ops-log-{uuid.uuid4().hex[:8]}"
    with json_lines("app.access") as lines:
        resp = client.get("/health", headers={"X-Request-Id": rid})
    assert resp.status_code == 200
    assert resp.headers["X-Request-Id"] == rid
    [line] = [entry for entry in lines if entry["request_id"] == rid]
    assert {"time", "level", "logger", "message", "request_id"} <= set(line)
    assert line["level"] == "INFO" and line["logger"] == "app.access"
    assert line["method"] == "GET" and line["path"] == "/health" and line["route"] == "/health"
    assert line["status"] == 200 and isinstance(line["duration_ms"], (int, float))
    assert line["message"] == "GET /health 200"
    assert datetime.fromisoformat(line["time"]).tzinfo is not None


def test_the_access_log_says_who_acted_and_how_they_signed_in(client, tokens):
    from tests.lifecycle.helpers import PERSON_PID

    rid = f"ops-audit-{uuid.uuid4().hex[:8]}"
    headers = tokens.headers(
        org=None, pid=PERSON_PID, scopes=("altinn:correspondence.read",), acr="idporten-loa-high"
    )
    with json_lines("app.access") as lines:
        client.get(
            f"/correspondence/api/v1/correspondence/{uuid.uuid4()}", headers={**headers, "X-Request-Id": rid}
        )
    [line] = [entry for entry in lines if entry["request_id"] == rid]
    assert line["party"] == f"urn:altinn:person:identifier-no:{PERSON_PID}"
    assert line["acr"] == "idporten-loa-high" and line["issuer"]


def test_request_id_is_made_when_the_client_sends_none(client):
    with json_lines("app.access") as lines:
        resp = client.get("/health")
    rid = resp.headers["X-Request-Id"]
    assert len(rid) == 32 and any(entry["request_id"] == rid for entry in lines)


def test_configure_logging_writes_json_lines_and_text_on_request():
    script = (
        "import logging\n"
        "from app.logs import configure_logging, request_id_var\n"
        "configure_logging()\n"
        "request_id_var.set('rid-123')\n"
        "log = logging.getLogger('probe')\n"
        "log.info('hello %s', 'world', extra={'answer': 42})\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n    log.exception('failed')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "LOG_LEVEL": "INFO"},
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stderr.splitlines()]  # every line is one JSON object
    assert len(lines) == 2
    hello, failed = lines
    assert hello["message"] == "hello world" and hello["request_id"] == "rid-123" and hello["answer"] == 42
    assert hello["logger"] == "probe" and hello["level"] == "INFO"
    assert failed["level"] == "ERROR" and "ZeroDivisionError" in failed["exc_info"]

    text = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "LOG_FORMAT": "text"},
    )
    assert text.returncode == 0 and "INFO probe: hello world" in text.stderr


def test_request_id_of_initialize_is_in_the_log_of_the_task_it_causes(client, sender, worker):
    rid = f"ops-task-{uuid.uuid4().hex[:8]}"
    with json_lines("workers.tasks", "app.access") as lines:
        answer = ok(
            post(
                client,
                initialize_request([ORG_RECIPIENT], notification=FULL_NOTIFICATION),
                {**sender, "X-Request-Id": rid, "Prefer": "wait=10"},
            )
        )
    assert answer["correspondences"][0]["notifications"], answer  # the task ran before the answer
    task_lines = [
        entry for entry in lines if entry["logger"] == "workers.tasks" and entry["request_id"] == rid
    ]
    assert [entry["message"] for entry in task_lines] == [
        "task notifications.create_orders started",
        "task notifications.create_orders finished: SUCCESS",
    ]
    assert all(entry["task"] == "notifications.create_orders" and entry["task_id"] for entry in task_lines)
    assert task_lines[1]["state"] == "SUCCESS" and task_lines[1]["duration_ms"] >= 0
    access = [entry for entry in lines if entry["logger"] == "app.access" and entry["request_id"] == rid]
    assert [entry["status"] for entry in access] == [200]


def test_tasks_published_without_a_request_have_no_request_id(worker):
    from workers.observability import message_headers

    assert message_headers() == {}
    assert message_headers("given") == {"request_id": "given"}


def test_messages_published_while_a_request_id_is_set_carry_it(redis_url):
    """Any publish in a request's or task's context (retries, follow-up work) inherits its id."""
    import redis

    from app.logs import request_id_var
    from tests.conftest import current_celery

    celery_app = current_celery()

    queue = f"ops-inherit-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    token = request_id_var.set("rid-inherited")
    try:
        celery_app.send_task("ops.nothing", args=(), queue=queue, retry=False)
        request_id_var.set(None)
        celery_app.send_task("ops.nothing", args=(), queue=queue, retry=False)
        first, second = (json.loads(client.rpop(queue)) for _ in range(2))
    finally:
        request_id_var.reset(token)
        client.delete(queue, f"_kombu.binding.{queue}")
        client.close()
    assert first["headers"]["request_id"] == "rid-inherited"
    assert "request_id" not in second["headers"]
