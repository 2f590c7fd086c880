"""Schemathesis against our own /openapi.json: every operation, every check, positive and negative data.

The schemathesis engine (what `schemathesis run` drives) runs its examples, coverage and fuzzing
phases over every documented operation with a token holding every scope, with **all** its built-in
checks: no 5xx; status codes, content types, headers and bodies as documented; negative (schema-
invalid) data rejected; positive data accepted; undocumented methods answered 405 with `Allow`;
requests without the token refused; a missing required header refused. Numbered errors (`errorCode`,
400) are business rules no schema states (an unknown resource, a due date in the past), so 400 is an
accepted answer to positive data, but only as a numbered error: `schema_valid_data_passes_validation`
fails any *validation problem* on schema-valid data, i.e. any constraint the OpenAPI does not state,
bar the few no JSON Schema keyword can (`NOT_STATABLE`).

Bounded and repeatable: `MAX_EXAMPLES` per operation and phase, a fixed seed. The app is served over
loopback by werkzeug's server in a thread: schemathesis' in-process WSGI transport cannot send the
probes of `ignored_auth` (it hands `max_redirects` to werkzeug's EnvironBuilder; schemathesis 4.32).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.engine import events, from_schema
from werkzeug.serving import make_server

from app.domain.recipients import RECIPIENT_SSN_MESSAGE
from app.schemas.initialize import PROPERTY_KEY_ERROR
from tests.conftest import READ, WRITE

MAX_EXAMPLES = 10
SEED = 20261123
CHECK_SCOPE = "altinn:system/notifications.condition.check"
# Validation messages of rules that no OpenAPI 3.0 keyword states: the SSN checksum (mod 11), the
# transmission type that only applies to one reference type, the all-zero GUID, map key lengths (no
# propertyNames), and the text rule of every string (PostgreSQL cannot store NUL; the API
# description says so).
NOT_STATABLE = (
    RECIPIENT_SSN_MESSAGE,
    PROPERTY_KEY_ERROR,
    "DialogportenTransmissionType referenceValue must be a valid transmission type",
    "The idempotency key must be a valid non-empty GUID",
    "Text may not contain the NUL character",
)


@schemathesis.check
def schema_valid_data_passes_validation(ctx: Any, response: Any, case: Any) -> bool | None:
    """Positive data may be refused by a numbered error, never by a validation problem."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    if _text_after_files(case.body):
        return None  # the form's text comes before its files: a rule no OpenAPI keyword states
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    if not isinstance(body, dict) or "errorCode" in body or not isinstance(body.get("errors"), dict):
        return None
    unstated = {
        path: messages
        for path, messages in body["errors"].items()
        if any(not message.startswith(NOT_STATABLE) for message in messages)
    }
    if unstated:
        raise Failure(
            operation=case.operation.label,
            title="Schema-valid data refused by validation",
            message=f"The OpenAPI does not state these constraints: {unstated}",
        )
    return None


def _text_after_files(body: Any) -> bool:
    """A multipart body (a dict, sent in its order) with a text field after a file part."""
    if not isinstance(body, dict) or not body.get("attachments"):
        return False
    names = list(body)
    return names.index("attachments") < len(names) - 1


@pytest.fixture()
def base_url(app) -> Iterator[str]:
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.ERROR)  # no access line per generated request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        werkzeug_log.setLevel(level)


def test_every_operation_passes_every_check(base_url, tokens) -> None:
    token = tokens.make(scopes=(WRITE, READ, CHECK_SCOPE), ttl=3600)
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "database": "none"},
            "checks": {
                "enabled": True,
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
                },
            },
            "phases": {"stateful": {"enabled": False}},  # no links between operations to follow
            "cache": {"enabled": False},
        }
    )
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config)
    operations = {result.ok().label for result in schema.get_all_operations()}
    assert len(operations) >= 20, sorted(operations)

    failures: list[str] = []
    errors: list[str] = []
    tested: dict[str, set[str]] = {}
    checks_run = 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.recorder.label:
            tested.setdefault(event.recorder.label, set()).add(str(event.phase))
            for checks in event.recorder.checks.values():
                for check in checks:
                    checks_run += 1
                    if check.failure_info is not None:
                        info = check.failure_info
                        failures.append(
                            f"{event.recorder.label} [{check.name}] {info.failure.title}\n"
                            f"{info.failure.message}\n{info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {event.exception!r}")

    assert not errors, "\n\n".join(errors)
    assert not failures, f"{len(failures)} failure(s):\n\n" + "\n\n".join(failures)
    assert set(tested) == operations, sorted(operations - set(tested))
    assert all({"coverage", "fuzzing"} <= phases for phases in tested.values()), tested
    assert checks_run > 1000
