"""tests/unit needs no service: no database (but the one `db`-marked test), no broker, no app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def celery_broker() -> Iterator[None]:
    """Replaces the root conftest's session-wide binding of Celery to a test Redis: nothing here publishes."""
    yield None
