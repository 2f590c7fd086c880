"""Python CPU of one request on the hot path, in process (by hand; a tool for cutting, ~30 s).

    .venv/bin/python bench/hot_path.py [--requests 500] [--rounds 6] [--profile N]

Calls the WSGI apps directly (no sockets, no gunicorn, no client) with the same 1-recipient
Initialize that bench/service.py sends, and reports process CPU per request for
(a) the service's `POST /correspondence/api/v1/correspondence` and (b) the bare Flask + psycopg
one-INSERT endpoint (bench/bare_app.py), on a scratch database. PostgreSQL's own CPU is not in
these numbers (bench/service.py measures the whole machine). --profile N prints cProfile's top N
functions (cumulative) of (a). Logging is configured as app/wsgi.py does (an INFO access line per
request, JSON), written to /dev/null.

Writes bench/results/hot-path-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
os.environ["CORRESPONDENCE_QUEUE_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}"
sys.path.insert(0, str(BENCH))

from common import ROOT, admin_database_url, drop_database, redis_url, scratch_database  # noqa: E402

SENDER = "991825827"
RECIPIENT = "urn:altinn:organization:identifier-no:313721779"


def initialize_body(recipients: list[str]) -> bytes:
    data = json.loads((ROOT / "examples" / "initialize.json").read_text(encoding="utf-8"))
    data["Recipients"] = recipients
    return json.dumps(data, ensure_ascii=False).encode()


def environ_for(path: str, body: bytes, token: str | None) -> dict:
    from werkzeug.test import EnvironBuilder

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    builder = EnvironBuilder(
        path=path, method="POST", data=body, content_type="application/json", headers=headers
    )
    environ = builder.get_environ()
    environ.pop("wsgi.input")
    return environ


def run(app, environ: dict, body: bytes, n: int) -> tuple[float, int]:
    """Process CPU seconds for n requests; the last status code."""
    status: list[str] = []

    def start_response(s, headers, exc_info=None):
        status.append(s)

    started = time.process_time()
    for _ in range(n):
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(body)
        for _chunk in app(env, start_response):
            pass
    return time.process_time() - started, int(status[-1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--recipients", type=int, default=1, help="recipients of the Initialize")
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions of (a)")
    args = parser.parse_args()
    admin = admin_database_url()
    url, name = scratch_database(admin)
    workdir = Path(tempfile.mkdtemp(prefix="bench-hot-"))
    try:
        os.environ.update(
            DATABASE_URL=url,
            REDIS_URL=redis_url(),
            CORRESPONDENCE_DATA_DIR=str(workdir / "data"),
            PROMETHEUS_MULTIPROC_DIR=str(workdir),
            BARE_DATABASE_URL=url,
            LOG_LEVEL="INFO",
        )
        import subprocess

        subprocess.run(
            [str(Path(sys.executable).parent / "correspondence"), "seed-demo"], check=True, cwd=ROOT
        )
        from app.logs import configure_logging

        # As app/wsgi.py logs (the INFO access line per request, JSON), written to /dev/null.
        configure_logging()
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(open(os.devnull, "w"))
        from app.config import DEV_ISSUER
        from app.security.tokens import load_or_create_dev_key, mint_token
        from app.web import create_app

        service = create_app()
        key = load_or_create_dev_key(workdir / "data" / "keys" / "dev-signing-key.pem")
        token = mint_token(
            key, issuer=DEV_ISSUER, scopes=["altinn:correspondence.write"], org=SENDER, ttl_seconds=3600
        )
        import bare_app
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(bare_app.TABLE)
        recipients = [RECIPIENT] + [
            f"urn:altinn:organization:identifier-no:{800000000 + i:09d}" for i in range(args.recipients - 1)
        ]
        body = initialize_body(recipients)
        a_env = environ_for("/correspondence/api/v1/correspondence", body, token)
        b_env = environ_for("/insert", body, None)
        n = args.requests
        run(service.wsgi_app, a_env, body, 200)  # warm-up: pools, caches
        run(bare_app.app.wsgi_app, b_env, body, 200)
        # Alternating rounds, the least disturbed (lowest) of each: other load on the machine only
        # ever adds CPU time (cache misses, frequency), it never removes any.
        a_rounds, b_rounds = [], []
        for _ in range(args.rounds):
            a_cpu, a_status = run(service.wsgi_app, a_env, body, n)
            b_cpu, b_status = run(bare_app.app.wsgi_app, b_env, body, n)
            if a_status != 200 or b_status != 200:
                raise SystemExit(f"unexpected status: service {a_status}, bare {b_status}")
            a_rounds.append(a_cpu / n * 1000)
            b_rounds.append(b_cpu / n * 1000)
        result = {
            "recipients": args.recipients,
            "requests_per_round": n,
            "rounds": args.rounds,
            "service_ms_per_request": round(min(a_rounds), 3),
            "bare_ms_per_request": round(min(b_rounds), 3),
            "ratio": round(min(a_rounds) / min(b_rounds), 2),
            "service_rounds": [round(x, 3) for x in a_rounds],
            "bare_rounds": [round(x, 3) for x in b_rounds],
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        print(json.dumps(result, indent=2))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (BENCH / "results" / f"hot-path-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
        if args.profile:
            profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on PostgreSQL
            profiler.enable()
            run(service.wsgi_app, a_env, body, n)
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats("tottime")
            stats.print_stats(args.profile)
            stats.sort_stats("cumulative").print_stats(args.profile)
    finally:
        from app.db.pool import close_pools

        close_pools()
        drop_database(admin, name)


if __name__ == "__main__":
    main()
