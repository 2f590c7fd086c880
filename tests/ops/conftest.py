"""Ops tests reuse the in-process Celery worker of the worker tests."""

from tests.workers.conftest import use_gateway, worker  # noqa: F401  (fixtures)
