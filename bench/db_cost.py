"""Where PostgreSQL's time goes per 1-recipient Initialize, end to end (by hand, not in CI).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5499/postgres \\
        .venv/bin/python bench/db_cost.py [--duration 10] [--connections 16]

Needs a PostgreSQL server with `shared_preload_libraries = pg_stat_statements` (the machine's
usually has not; a private one, as root:
`su postgres -c "initdb -D /tmp/pgstat/data -A trust -U postgres"`, then
`pg_ctl -D /tmp/pgstat/data -o "-p 5499 -c shared_preload_libraries=pg_stat_statements
-c pg_stat_statements.track=all -c autovacuum=off" start`).

Starts the service as bench/service.py does (gunicorn with the Procfile's web line, the Procfile's
worker, relay and beat), loads it with wrk for --duration seconds, waits until every
correspondence of the load has its orders recorded and is published, and reports, per Initialize:
commits, WAL bytes, and each statement's calls, rows and execution time (pg_stat_statements),
grouped by the process role that ran it (application_name is not set, so by query text).
Writes bench/results/db-cost-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import service  # noqa: E402  (sets this run's queue prefix)
from common import ROOT, admin_database_url, drop_database, redis_url, scratch_database  # noqa: E402


def snapshot(conn, dbname: str) -> dict:
    wal = conn.execute("SELECT wal_records, wal_bytes, wal_sync FROM pg_stat_wal").fetchone()
    commits = conn.execute(
        "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database "
        "WHERE datname = %s",
        (dbname,),
    ).fetchone()
    return {
        "wal_records": int(wal[0]),
        "wal_bytes": int(wal[1]),
        "wal_sync": int(wal[2]),
        "commits": int(commits[0]),
        "rollbacks": int(commits[1]),
        "inserted": int(commits[2]),
        "updated": int(commits[3]),
        "deleted": int(commits[4]),
    }


def cpu_by_group(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process group, and of all PostgreSQL processes."""
    tick = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys([*groups, "postgresql"], 0.0)
    by_pgid = {pgid: name for name, pgid in groups.items()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(fields[2]) in by_pgid:
            used[by_pgid[int(fields[2])]] += seconds
        elif comm.startswith("postgres"):
            used["postgresql"] += seconds
    return used


def drained(url: str) -> bool:
    import psycopg

    with psycopg.connect(url) as conn:
        pending = conn.execute(
            "SELECT (SELECT count(*) FROM notification_outbox WHERE completed_at IS NULL)"
            " + (SELECT count(*) FROM publication_queue WHERE due_at <= now())"
        ).fetchone()[0]
    return pending == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    import psycopg

    admin, broker = admin_database_url(), redis_url()
    os.environ["REDIS_URL"] = broker
    workdir = Path(tempfile.mkdtemp(prefix="bench-db-cost-"))
    data_dir = workdir / "data"
    (workdir / "prometheus").mkdir()
    url, name = scratch_database(admin)
    server = background = None
    try:
        env = dict(
            os.environ,
            DATABASE_URL=url,
            REDIS_URL=broker,
            CORRESPONDENCE_DATA_DIR=str(data_dir),
            CORRESPONDENCE_QUEUE_PREFIX=service.PREFIX,
            PROMETHEUS_MULTIPROC_DIR=str(workdir / "prometheus"),
        )
        import subprocess

        subprocess.run(
            [str(Path(sys.executable).parent / "correspondence"), "seed-demo"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        from app.config import DEV_ISSUER, load_settings
        from app.security.tokens import load_or_create_dev_key, mint_token

        key = load_or_create_dev_key(data_dir / "keys" / "dev-signing-key.pem")
        token = mint_token(
            key,
            issuer=DEV_ISSUER,
            scopes=["altinn:correspondence.write"],
            org=service.SENDER,
            ttl_seconds=3600,
        )
        one = service.initialize_body([service.RECIPIENT])
        port = service.free_port()
        server = service.Server(
            service.procfile_web("app.wsgi:app", port), env, workdir / "service.log", port, "/health/live"
        )
        from procfile import BACKGROUND_ROLES, Background

        background = Background(BACKGROUND_ROLES, env, workdir, workdir)
        service.wrk(port, service.INITIALIZE, one, token, 3, args.connections, workdir)
        while not drained(url):
            time.sleep(0.2)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_statements_reset()")
            conn.execute("SELECT pg_stat_reset()")
            conn.execute("SELECT pg_stat_reset_shared('wal')")
            time.sleep(0.6)  # the statistics collector's flush
            before = snapshot(conn, name)
            groups = {"web": server.proc.pid, **{k: p.pid for k, p in background.procs.items()}}
            cpu_before = cpu_by_group(groups)
            load = service.wrk(port, service.INITIALIZE, one, token, args.duration, args.connections, workdir)
            deadline = time.monotonic() + 120
            while not drained(url):
                if time.monotonic() > deadline:
                    raise SystemExit("the load's work did not drain in 120 s")
                time.sleep(0.2)
            time.sleep(2)  # a beat interval or two of idle scans, then the collector's flush
            after = snapshot(conn, name)
            cpu_after = cpu_by_group(groups)
            rows = conn.execute(
                "SELECT query, calls, rows, total_exec_time, wal_bytes FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s ORDER BY total_exec_time DESC",
                (name,),
            ).fetchall()
        n = load["requests"]
        total_ms = sum(r[3] for r in rows)
        statements = [
            {
                "query": " ".join(r[0].split())[:300],
                "calls_per_initialize": round(r[1] / n, 3),
                "rows_per_initialize": round(r[2] / n, 3),
                "exec_ms_per_initialize": round(r[3] / n, 4),
                "share": round(r[3] / total_ms, 3) if total_ms else 0,
                "wal_bytes_per_initialize": round(int(r[4]) / n, 1),
            }
            for r in rows
        ]
        result = {
            "initializes": n,
            "requests_per_second": load["requests_per_second"],
            "per_initialize": {k: round((after[k] - before[k]) / n, 3) for k in before},
            "exec_ms_per_initialize": round(total_ms / n, 4),
            # CPU of each role over the load and its drain (PostgreSQL: every server process).
            "cpu_ms_per_initialize": {
                k: round((cpu_after[k] - cpu_before[k]) * 1000 / n, 3) for k in cpu_before
            },
            "statements": statements,
            "relay_batch_window_ms": load_settings().worker.relay_batch_window_ms,
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip(),
            "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join(["bench/db_cost.py", *sys.argv[1:]]),
        }
        out = service.RESULTS / f"db-cost-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
        out.write_text(json.dumps(result, indent=1))
        print(json.dumps(result["per_initialize"]), f"exec ms/Initialize {result['exec_ms_per_initialize']}")
        print("CPU ms per Initialize:", json.dumps(result["cpu_ms_per_initialize"]))
        print(f"relay window {result['relay_batch_window_ms']} ms, {result['requests_per_second']} req/s")
        for s in statements[: args.top]:
            print(
                f"{s['exec_ms_per_initialize']:8.4f} ms {s['share']:6.1%} calls {s['calls_per_initialize']:7.3f}"
                f" rows {s['rows_per_initialize']:8.3f}  {s['query'][:150]}"
            )
        print(out)
    finally:
        if background is not None:
            background.stop()
        if server is not None:
            server.stop()
        service.purge(broker)
        drop_database(admin, name)


if __name__ == "__main__":
    main()
