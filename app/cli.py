"""`correspondence` command line: run, flower, migrate, token, registry load, seed-demo, relay."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import sys
from importlib import resources as package_files
from pathlib import Path

import click

from app.config import DEV_ISSUER, load_settings
from app.logs import configure_logging

log = logging.getLogger("correspondence")
GUNICORN_CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


def _database_url() -> str:
    """DATABASE_URL, or the embedded PostgreSQL under the data folder (started or joined)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from app.embedded import start_postgres

    url = start_postgres(load_settings().data_dir)
    os.environ["DATABASE_URL"] = url
    return url


@click.group()
def main() -> None:
    """Correspondence dispatch service."""
    configure_logging()


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""
    from app.db.migrate import apply_migrations

    applied = apply_migrations(_database_url())
    click.echo(f"applied: {', '.join(applied) or 'nothing (up to date)'}")


@main.command()
@click.option("--org", help="Caller organization number (9 digits)")
@click.option("--pid", help="Caller national identity number (11 digits), for a person token")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    default=["altinn:correspondence.write"],
    show_default=True,
    help="Scope; repeat for several",
)
@click.option("--ttl", default=3600, show_default=True, help="Lifetime in seconds")
def token(org: str | None, pid: str | None, scopes: tuple[str, ...], ttl: int) -> None:
    """Print a token signed by this service's development key."""
    from app.security.tokens import load_or_create_dev_key, mint_token

    if not org and not pid:
        raise click.UsageError("give --org and/or --pid")
    if org and not (len(org) == 9 and org.isdigit()):
        raise click.BadParameter("must be 9 digits", param_hint="--org")
    if pid and not (len(pid) == 11 and pid.isdigit()):
        raise click.BadParameter("must be 11 digits", param_hint="--pid")
    settings = load_settings()
    if settings.is_production:
        raise click.ClickException(
            "refusing to mint a token in production (CORRESPONDENCE_ENV=production): the development "
            "signing key is never trusted there; use tokens from Maskinporten, ID-porten or Altinn"
        )
    key = load_or_create_dev_key(settings.dev_key_path)
    all_scopes = [s for scope in scopes for s in scope.split()]
    click.echo(
        mint_token(
            key, issuer=settings.issuer or DEV_ISSUER, scopes=all_scopes, org=org, pid=pid, ttl_seconds=ttl
        )
    )


@main.group()
def registry() -> None:
    """Local registries: resources, parties, contact points, people who act for organizations."""


def _load_registry(data: object) -> tuple[int, int, int]:
    from app.db.migrate import apply_migrations
    from app.db.pool import Database
    from app.db.repositories.access import upsert_access
    from app.db.repositories.registry import upsert_parties, upsert_resources
    from app.domain.registry import parse_access_entries, parse_registry_file

    resources, parties = parse_registry_file(data)
    grants = parse_access_entries(data)
    url = _database_url()
    apply_migrations(url)
    with Database(url, 2).transaction() as conn:
        upsert_resources(conn, resources)
        upsert_parties(conn, parties)
        upsert_access(conn, grants)
    return len(resources), len(parties), len(grants)


@registry.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def registry_load(file: Path) -> None:
    """Upsert resources and parties from FILE.json (format in docs/operating.md, "The registry file")."""
    from app.domain.registry import RegistryFileError

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        n_resources, n_parties, n_access = _load_registry(data)
    except (ValueError, RegistryFileError) as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    click.echo(
        f"loaded {n_resources} resources, {n_parties} parties and {n_access} access entries from {file}"
    )


@main.group()
def events() -> None:
    """Events to subscribers."""


@events.command("reseal-secrets")
def events_reseal_secrets() -> None:
    """Encrypt every subscription's signing secret with the first key of EVENTS_SECRET_KEYS: secrets
    stored in clear by an older version, and those sealed with a key that is being retired."""
    from app.db.pool import Database
    from app.events_settings import load_event_settings
    from app.usecases.event_subscriptions import reseal_secrets
    from app.webhook_secrets import SecretsUnavailable

    try:
        count = reseal_secrets(Database(_database_url(), 2), load_event_settings().secrets)
    except SecretsUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"resealed {count} subscription secret(s) with the first key")


@main.command("seed-demo")
def seed_demo() -> None:
    """Load the demo registry (resources owned by 991825827, a few parties)."""
    data = json.loads(package_files.files("app").joinpath("demo/registry.json").read_text(encoding="utf-8"))
    n_resources, n_parties, n_access = _load_registry(data)
    click.echo(
        f"loaded demo registry: {n_resources} resources, {n_parties} parties, {n_access} access entries"
    )


@main.command()
def relay() -> None:
    """Run the outbox relay: publishes committed notification work to the broker (it looks every
    RELAY_BATCH_WINDOW_MS)."""
    from workers.relay import main as relay_main

    database_url = _database_url()
    relay_main(load_settings(), database_url)


def masked_url(url: str) -> str:
    """A broker or database URL fit for a log line: its password replaced by `**` (kombu's own)."""
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


def _is_loopback(address: str) -> bool:
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


@main.command()
@click.option("--port", type=int, default=None, help="Flower port  [default: $FLOWER_PORT, else 5555]")
@click.option("--address", default=None, help="address to bind  [default: $FLOWER_ADDRESS, else 127.0.0.1]")
def flower(port: int | None, address: str | None) -> None:
    """Flower (Celery's monitor) on this service's broker: BROKER_URL or REDIS_URL, else the running
    `correspondence run`'s.

    On loopback in development the HTTP API (/api/workers, ...) is open unless FLOWER_BASIC_AUTH or
    FLOWER_AUTH is set. On any other address, and always with CORRESPONDENCE_ENV=production, it refuses
    to start without FLOWER_BASIC_AUTH or FLOWER_AUTH.
    """
    from app.supervise import RunState

    settings = load_settings()
    broker = settings.broker_url  # BROKER_URL (RabbitMQ), else REDIS_URL
    if not broker:
        live = RunState(settings.data_dir).live()
        broker = (live or {}).get("redis_url")
        if not broker:
            raise click.ClickException(
                f"no broker: set REDIS_URL, or start `correspondence run` first (its embedded Redis is found "
                f"through {settings.data_dir / 'run.json'}; run both from the same folder or CORRESPONDENCE_DATA_DIR)"
            )
    env = dict(os.environ, BROKER_URL=broker)
    authenticated = bool(env.get("FLOWER_BASIC_AUTH") or env.get("FLOWER_AUTH"))
    port = port or int(env.get("FLOWER_PORT") or 5555)
    address = address or env.get("FLOWER_ADDRESS") or "127.0.0.1"
    if not authenticated and (settings.is_production or not _is_loopback(address)):
        where = "CORRESPONDENCE_ENV=production" if settings.is_production else f"--address {address}"
        raise click.ClickException(
            f"{where}: Flower needs authentication (it can shut workers down and revoke tasks; only on "
            "loopback in development does it run without). Set FLOWER_BASIC_AUTH=user:password "
            "(behind TLS), or FLOWER_AUTH (allowed e-mails, a regex) with FLOWER_AUTH_PROVIDER and "
            "FLOWER_OAUTH2_KEY / FLOWER_OAUTH2_SECRET / FLOWER_OAUTH2_REDIRECT_URI"
        )
    if not authenticated:
        env.setdefault("FLOWER_UNAUTHENTICATED_API", "true")  # development on loopback only
    cmd = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "workers.main",
        "flower",
        f"--port={port}",
        f"--address={address}",
    ]
    if env.get("FLOWER_BROKER_API"):  # RabbitMQ's management API (http://user:pass@host:15672/api/)
        cmd.append(f"--broker-api={env['FLOWER_BROKER_API']}")
    log.info(
        "Flower on http://%s:%s, broker %s%s",
        address,
        port,
        masked_url(broker),
        "" if authenticated else " (no authentication: development only)",
    )
    os.execve(cmd[0], cmd, env)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="API address (0.0.0.0: every interface)")
@click.option("--port", type=int, default=None, help="API port  [default: $PORT, else 8080]")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes (gevent)")
@click.option("--connections", default=1000, show_default=True, help="connections per gunicorn worker")
@click.option("--concurrency", default=2, show_default=True, help="celery worker processes")
def run(host: str, port: int | None, workers: int, connections: int, concurrency: int) -> None:
    """Run API, worker, outbox relay and beat; embedded PostgreSQL/Redis when DATABASE_URL/REDIS_URL are unset.

    Stops everything it started on Ctrl-C, SIGTERM, SIGHUP (terminal closed) or when its parent exits.
    """
    from app.db.migrate import apply_migrations
    from app.embedded import ensure_environment
    from app.security.tokens import load_or_create_dev_key
    from app.supervise import StartRefused, Supervisor

    settings = load_settings()
    problems = settings.identity_problems()
    if problems:
        raise click.ClickException(f"refusing to start ({settings.environment}): " + "; ".join(problems))
    port = port or settings.port
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log.info("data folder: %s", settings.data_dir)
    supervisor = Supervisor(settings.data_dir)
    try:
        supervisor.claim(host, port)  # a live run here, what a dead one left, the port
    except StartRefused as exc:
        raise click.ClickException(str(exc)) from exc
    supervisor.handle_signals()
    embedded_postgres = not os.environ.get("DATABASE_URL")
    owned = []
    exit_code = 0
    try:
        owned = ensure_environment(settings.data_dir, die_with_parent=True)
        if embedded_postgres:  # stops it should this process die without stopping it
            supervisor.start(
                "postgres-watchdog",
                [
                    sys.executable,
                    "-m",
                    "app.supervise",
                    "watch-postgres",
                    str(settings.data_dir / "postgres"),
                ],
            )
        supervisor.state.write(redis_url=os.environ["REDIS_URL"])  # `correspondence flower` finds it there
        log.info("broker: %s (Flower: `correspondence flower`)", masked_url(os.environ["REDIS_URL"]))
        if not supervisor.stopping():
            applied = apply_migrations(os.environ["DATABASE_URL"])
            log.info("migrations applied: %s", ", ".join(applied) or "none pending")
        if settings.dev_keys:
            load_or_create_dev_key(settings.dev_key_path)
            log.info(
                "development signing key: %s (mint tokens with `correspondence token`)", settings.dev_key_path
            )
        # /metrics adds up every gunicorn worker's counters through files here (gunicorn.conf.py empties it).
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.data_dir / "prometheus"))
        level = os.environ.get("LOG_LEVEL", "INFO").upper()
        for name, cmd in _roles(
            settings.data_dir, host, port, workers, connections, concurrency, level
        ).items():
            if not supervisor.stopping():
                supervisor.start(name, cmd)
        if not supervisor.stopping():
            log.info(
                "API on http://%s:%s (OpenAPI /openapi.json, Swagger UI /docs); Ctrl-C stops everything",
                host,
                port,
            )
            exit_code = supervisor.watch()
    finally:
        supervisor.stop()
        for handle in owned:
            handle.stop()
        supervisor.release()
        log.info("stopped")
    sys.exit(exit_code)  # the embedded PostgreSQL stops at exit when no other process uses it


def _roles(
    data_dir: Path, host: str, port: int, workers: int, connections: int, concurrency: int, level: str
) -> dict[str, list[str]]:
    """The Procfile's roles as `correspondence run` starts them."""
    from workers.celery_app import Queues

    bin_dir = Path(sys.executable).parent
    queues = Queues(load_settings().broker.queue_prefix)

    def celery_worker(consumed: tuple[str, ...], processes: int, name: str) -> list[str]:
        celery = [str(bin_dir / "celery"), "-A", "workers.main", "worker", "--loglevel", level]
        return [
            *celery,
            "--concurrency",
            str(processes),
            "--queues",
            ",".join(consumed),
            "--hostname",
            f"{name}@%h",
        ]

    return {
        "web": [
            str(bin_dir / "gunicorn"),
            "app.wsgi:app",
            "--bind",
            f"{host}:{port}",
            # gevent: a slow client or a `Prefer: wait` holds a greenlet, never a thread
            "--worker-class",
            "gevent",
            "--workers",
            str(workers),
            "--worker-connections",
            str(connections),
            "--keep-alive",
            "0",
            "--graceful-timeout",
            "10",
            *(["--config", str(GUNICORN_CONF)] if GUNICORN_CONF.exists() else []),
        ],
        "worker": celery_worker(queues.general, concurrency, "worker"),
        # Deliveries to subscribers on a worker of their own (a slow subscriber never delays the rest).
        "events": celery_worker((queues.events,), 2, "events"),
        "relay": [str(bin_dir / "correspondence"), "relay"],
        "beat": [
            str(bin_dir / "celery"),
            "-A",
            "workers.main",
            "beat",
            "--loglevel",
            level,
            "--schedule",
            str(data_dir / "celerybeat-schedule"),
        ],
    }


from app import send_cli  # noqa: E402,F401  (`correspondence send` registers itself on main)
