from tests.workers.conftest import use_gateway, worker  # noqa: F401  (shared fixtures)
