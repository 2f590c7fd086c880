"""Schemathesis against our own /openapi.json, in-process (WSGI), with a valid write-scope token.

Every documented operation gets 25 generated requests (derandomized, so a run is repeatable) and
must answer with no 5xx, only documented status codes, documented content types and headers, and
bodies that match the documented schemas; requests without the token must be refused, and
schema-invalid requests rejected.

The operations are driven one by one through `operation.as_strategy()` instead of the pytest
`parametrize` integration, whose lazy (fixture-based) loader does not run on pytest 9.
"""
from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from tests.conftest import READ, WRITE

MAX_EXAMPLES = 25
CHECK_SCOPE = "altinn:system/notifications.condition.check"
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.ignored_auth,
    checks.negative_data_rejection,
]


def test_every_operation_conforms_to_its_schema(app, tokens) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    headers = tokens.headers(scopes=(WRITE, READ, CHECK_SCOPE))
    failures: dict[str, str] = {}
    statuses: dict[str, list[int]] = {}
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5, [op.label for op in operations]

    for operation in operations:
        seen = statuses.setdefault(operation.label, [])

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), print_blob=False)
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            seen.append(response.status_code)

        try:
            run()
        except (AssertionError, BaseExceptionGroup, Exception) as exc:  # schemathesis raises a FailureGroup
            failures[operation.label] = str(exc)

    report = "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
    assert not failures, f"{len(failures)} operation(s) broke their schema:\n{report}"
    assert all(statuses.values()), statuses
    assert not any(code >= 500 for codes in statuses.values() for code in codes), statuses
    assert time.monotonic() - started < 60
