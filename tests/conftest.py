"""Shared fixtures: a real PostgreSQL and Redis (the machine's, else embedded), the app, tokens.

Order of preference for each service: TEST_DATABASE_URL / TEST_REDIS_URL, then the server on
127.0.0.1 (as on CI), then the embedded one from packages (a fresh machine with only Python).
A throw-away database is created per test session and dropped at the end.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

# Queues of this test session get their own names, so that concurrent runs sharing one Redis never
# take each other's messages (worker processes the tests start inherit it).
os.environ.setdefault("CORRESPONDENCE_QUEUE_PREFIX", f"test-{uuid.uuid4().hex[:10]}")
# Every fast schema load is compared with marshmallow's (app/schemas/compiled.py) in the whole suite.
os.environ.setdefault("SCHEMA_FAST_PATH_CHECK", "1")
# Webhook secrets are sealed with this session's key, in this process and every one the tests start.
os.environ.setdefault(
    "EVENTS_SECRET_KEYS", __import__("cryptography.fernet").fernet.Fernet.generate_key().decode()
)

from app.config import DEV_ISSUER, BrokerSettings, Settings, WorkerSettings
from app.db.migrate import apply_migrations
from app.db.pool import Database, close_pools
from app.embedded import port_open, start_postgres, start_redis
from app.security.tokens import load_or_create_dev_key, mint_token

PREFIX = os.environ["CORRESPONDENCE_QUEUE_PREFIX"]
SENDER_ORG = "991825827"
OTHER_ORG = "310654329"
WRITE = "altinn:correspondence.write"
READ = "altinn:correspondence.read"


def _server_url() -> tuple[str, bool]:
    """An admin URL of a PostgreSQL server; True when it is embedded."""
    if os.environ.get("TEST_DATABASE_URL"):
        return os.environ["TEST_DATABASE_URL"], False
    if os.environ.get("TEST_EMBEDDED") == "1":  # act like a machine without PostgreSQL/Redis
        return "", True
    if port_open("127.0.0.1", 5432):
        for user in ("postgres", "root"):
            url = f"postgresql://{user}@127.0.0.1:5432/postgres"
            try:
                psycopg.connect(url, connect_timeout=3).close()
                return url, False
            except psycopg.Error:
                continue
    return "", True


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> Iterator[str]:
    admin_url, embedded = _server_url()
    if embedded:
        admin_url = start_postgres(Path(os.environ.get("TEST_EMBEDDED_DIR", data_dir)))
    name = f"correspondence_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = psycopg.conninfo.conninfo_to_dict(admin_url)
    parts["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**parts)
    apply_migrations(_as_uri(admin_url, name))
    yield url
    close_pools()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_uri(admin_url: str, dbname: str) -> str:
    """yoyo needs a URI: swap the database name of the admin URI."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def redis_url(data_dir: Path) -> Iterator[str]:
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    if port_open("127.0.0.1", 6379) and os.environ.get("TEST_EMBEDDED") != "1":
        yield "redis://127.0.0.1:6379/0"
        return
    handle = start_redis(data_dir)
    yield handle.url
    handle.stop()


class SessionCelery:
    """This session's Celery app, built by the factory (workers.celery_app.create_celery) from the
    test settings. `rebind_broker` builds another for another broker; the services a test installed
    (database, gateway: `use_gateway`) go with it."""

    settings: Settings | None = None
    app: Any = None


def current_celery() -> Any:
    """The Celery app the tests, the session relay and in-process workers use now."""
    return SessionCelery.app


def rebind_broker(url: str) -> Any:
    """Build the session's Celery app for another broker, Redis or RabbitMQ, and use it from now on."""
    import dataclasses

    from workers.celery_app import create_celery

    base = SessionCelery.settings
    assert base is not None, "the celery_broker fixture sets the session's settings"
    services = SessionCelery.app.installed_services if SessionCelery.app is not None else None
    SessionCelery.app = create_celery(
        dataclasses.replace(base, broker=dataclasses.replace(base.broker, url=url)), services
    )
    return SessionCelery.app


@pytest.fixture(scope="session", autouse=True)
def celery_broker(redis_url: str, settings: Settings) -> Iterator[str]:
    """The Celery app publishes to the test Redis; this session's queues are deleted at the end."""
    import redis

    from workers.celery_app import Queues

    QUEUES = Queues(PREFIX).consumed
    SessionCelery.settings = settings
    rebind_broker(redis_url)
    yield redis_url
    client = redis.Redis.from_url(redis_url)
    client.delete(*QUEUES)
    for queue in QUEUES:  # kombu's exchange bindings of this session's queues
        client.delete(f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    # Messages a killed test worker left unacknowledged: kombu keeps them in one Redis-wide hash and
    # would restore them into this session's queue when a later session's worker starts.
    for tag, value in client.hscan_iter("unacked"):
        try:
            routing_key = json.loads(value)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key in QUEUES:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    client.close()


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """This session's RabbitMQ vhost (tests/brokers.py); skips without RabbitMQ unless CI needs it."""
    from tests.brokers import rabbitmq_vhost

    yield from rabbitmq_vhost()


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest, celery_broker: str) -> Iterator[str]:
    """Each broker in turn: the Celery app (and the session relay) publish to it for the test."""
    url = celery_broker if request.param == "redis" else request.getfixturevalue("rabbitmq_url")
    rebind_broker(url)
    try:
        yield url
    finally:
        rebind_broker(celery_broker)


class SessionRelay:
    """The outbox relay, as the Procfile's `relay` role runs it, in a thread of the test process."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.relay: Any = None
        self.thread: Any = None

    def start(self) -> None:
        from workers.dispatch import enqueue_order_creation
        from workers.relay import start_in_thread

        self.relay, self.thread = start_in_thread(
            self.database_url,
            lambda ids: enqueue_order_creation(current_celery(), ids),  # whichever broker a test uses
            idle_seconds=0.5,
            max_backoff_seconds=0.5,
            poll_seconds=0.02,
        )

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
            self.thread.join(10)
            self.relay = self.thread = None


@pytest.fixture(scope="session", autouse=True)
def outbox_relay(database_url: str, celery_broker: str) -> Iterator[SessionRelay]:
    """What an Initialize commits reaches this session's queues as in production."""
    relay = SessionRelay(database_url)
    relay.start()
    yield relay
    relay.stop()


@pytest.fixture()
def without_session_relay(outbox_relay: SessionRelay) -> Iterator[None]:
    """The session's relay stopped for one test (which runs relays of its own)."""
    outbox_relay.stop()
    yield
    outbox_relay.start()


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=data_dir,
        port=0,
        jwks_url=None,
        dev_keys=True,
        broker=BrokerSettings(url=redis_url, queue_prefix=PREFIX),
        worker=WorkerSettings(),
        metrics_cache_seconds=0,  # every scrape reads the database and the broker afresh
    )


@pytest.fixture(scope="session")
def db(database_url: str) -> Database:
    return Database(database_url, 4)


@pytest.fixture(scope="session")
def app(settings: Settings, db: Database):
    from app.db.repositories.registry import upsert_parties, upsert_resources
    from app.domain.registry import parse_registry_file
    from app.web import create_app

    registry = json.loads((Path(__file__).parent / "data" / "registry.json").read_text())
    resources, parties = parse_registry_file(registry)
    with db.transaction() as conn:
        upsert_resources(conn, resources)
        upsert_parties(conn, parties)
    application = create_app(settings)
    application.testing = True
    return application


@pytest.fixture()
def client(app):
    return app.test_client()


class Tokens:
    def __init__(self, settings: Settings) -> None:
        self.key = load_or_create_dev_key(settings.dev_key_path)

    def make(
        self,
        *,
        org: str | None = SENDER_ORG,
        pid: str | None = None,
        scopes: tuple[str, ...] = (WRITE,),
        ttl: int = 600,
        **extra: Any,
    ) -> str:
        return mint_token(
            self.key,
            issuer=DEV_ISSUER,
            scopes=list(scopes),
            org=org,
            pid=pid,
            ttl_seconds=ttl,
            extra=extra or None,
        )

    def headers(self, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.make(**kwargs)}"}


@pytest.fixture(scope="session")
def tokens(settings: Settings) -> Tokens:
    return Tokens(settings)


@pytest.fixture()
def sender(tokens: Tokens) -> dict[str, str]:
    return tokens.headers()
