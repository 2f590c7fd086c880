from tests.client.conftest import live, service  # noqa: F401  (shared fixtures)
from tests.events.conftest import events_env, receiver  # noqa: F401  (shared fixtures)
from tests.workers.conftest import use_gateway, worker  # noqa: F401  (shared fixtures)
