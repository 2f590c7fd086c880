"""`correspondence` command line: run, migrate, token, registry load, seed-demo."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
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
@click.option("--scope", "scopes", multiple=True, default=["altinn:correspondence.write"], show_default=True,
              help="Scope; repeat for several")
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
    key = load_or_create_dev_key(settings.dev_key_path)
    all_scopes = [s for scope in scopes for s in scope.split()]
    click.echo(mint_token(key, issuer=settings.issuer or DEV_ISSUER, scopes=all_scopes, org=org, pid=pid,
                          ttl_seconds=ttl))


@main.group()
def registry() -> None:
    """Local registries: resources, parties, contact points."""


def _load_registry(data: object) -> tuple[int, int]:
    from app.db.migrate import apply_migrations
    from app.db.pool import Database
    from app.db.repositories.registry import upsert_parties, upsert_resources
    from app.domain.registry import parse_registry_file

    resources, parties = parse_registry_file(data)
    url = _database_url()
    apply_migrations(url)
    with Database(url, 2).transaction() as conn:
        upsert_resources(conn, resources)
        upsert_parties(conn, parties)
    return len(resources), len(parties)


@registry.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def registry_load(file: Path) -> None:
    """Upsert resources and parties from FILE.json (format in DESIGN.md §5)."""
    from app.domain.registry import RegistryFileError

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        n_resources, n_parties = _load_registry(data)
    except (ValueError, RegistryFileError) as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    click.echo(f"loaded {n_resources} resources and {n_parties} parties from {file}")


@main.command("seed-demo")
def seed_demo() -> None:
    """Load the demo registry (resources owned by 991825827, a few parties)."""
    data = json.loads(package_files.files("app").joinpath("demo/registry.json").read_text(encoding="utf-8"))
    n_resources, n_parties = _load_registry(data)
    click.echo(f"loaded demo registry: {n_resources} resources, {n_parties} parties")


@main.command()
def relay() -> None:
    """Run the outbox relay: publishes committed notification work to the broker (LISTEN/NOTIFY)."""
    from workers.relay import main as relay_main

    relay_main(_database_url())


@main.command()
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes (gevent)")
@click.option("--connections", default=1000, show_default=True, help="connections per gunicorn worker")
@click.option("--concurrency", default=2, show_default=True, help="celery worker processes")
def run(workers: int, connections: int, concurrency: int) -> None:
    """Run API (127.0.0.1:$PORT, default 8080), worker, outbox relay and beat; embedded PostgreSQL/Redis when unset."""
    from app.db.migrate import apply_migrations
    from app.embedded import ensure_environment
    from app.security.tokens import load_or_create_dev_key

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log.info("data folder: %s", settings.data_dir)
    owned = ensure_environment(settings.data_dir)
    applied = apply_migrations(os.environ["DATABASE_URL"])
    log.info("migrations applied: %s", ", ".join(applied) or "none pending")
    if settings.dev_keys:
        load_or_create_dev_key(settings.dev_key_path)
        log.info("development signing key: %s (mint tokens with `correspondence token`)", settings.dev_key_path)
    os.environ["CORRESPONDENCE_DATA_DIR"] = str(settings.data_dir)
    # /metrics adds up every gunicorn worker's counters through files here (gunicorn.conf.py empties it).
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.data_dir / "prometheus"))
    bin_dir = Path(sys.executable).parent
    roles = {
        "web": [str(bin_dir / "gunicorn"), "app.wsgi:app", "--bind", f"127.0.0.1:{settings.port}",
                # gevent: a slow client or a `Prefer: wait` holds a greenlet, never a thread
                "--worker-class", "gevent", "--workers", str(workers), "--worker-connections", str(connections),
                "--keep-alive", "0", "--graceful-timeout", "10",
                *(["--config", str(GUNICORN_CONF)] if GUNICORN_CONF.exists() else [])],
        "worker": [str(bin_dir / "celery"), "-A", "workers.celery_app", "worker", "--loglevel", "INFO",
                   "--concurrency", str(concurrency), "--hostname", "worker@%h"],
        "relay": [str(bin_dir / "correspondence"), "relay"],
        "beat": [str(bin_dir / "celery"), "-A", "workers.celery_app", "beat", "--loglevel", "INFO",
                 "--schedule", str(settings.data_dir / "celerybeat-schedule")],
    }
    children = {name: subprocess.Popen(cmd) for name, cmd in roles.items()}
    log.info("API on http://127.0.0.1:%s (OpenAPI /openapi.json, Swagger UI /docs)", settings.port)

    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    exit_code = 0
    try:
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    log.error("%s exited with code %s; stopping", name, child.returncode)
                    exit_code = 1
                    stopping = True
            time.sleep(0.5)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        for handle in owned:
            handle.stop()
    sys.exit(exit_code)


from app import send_cli  # noqa: E402,F401  (`correspondence send` registers itself on main)
