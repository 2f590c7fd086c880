"""1,000,000 recipients end to end, and what they leave at rest (by hand, not in CI; ~8 min for the
default, ~1 min with `--requests 200`).

    flock /tmp/bench.lock .venv/bin/python bench/million.py [--requests 2000] [--recipients 500] [--clients 4]

Posts `--requests` Initializes of `--recipients` recipients each (notification with reminder: two
orders per correspondence, local gateway) with `--clients` concurrent clients to the service started as
the Procfile's web line, with every background role of the Procfile (worker, events, relay, beat), on
a scratch database whose tables have autovacuum off (so nothing depends on vacuum keeping up).
Reports the time from the first request to the last recorded order (the orders' own `created`), when
the last request was answered, the orders recorded per second in each successive 100,000 recipients
(the first against the last), and at the end the bytes at rest per recipient (`pg_total_relation_size`
of every table: heap, indexes, TOAST, dead versions included) with each table's counters from
`pg_stat_user_tables`.

Writes bench/results/million-<UTC time>.json (`--name` changes the prefix) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PREFIX = f"bench-{uuid.uuid4().hex[:8]}"
os.environ["CORRESPONDENCE_QUEUE_PREFIX"] = PREFIX  # this run's queues (read by load_settings)

from common import ROOT, admin_database_url, drop_database, redis_url, scratch_database  # noqa: E402

RESULTS = BENCH / "results"
BLOCK = 100_000  # recipients per step of the orders/s curve
TABLES_SQL = """
SELECT c.relname AS table, pg_total_relation_size(c.oid)::bigint AS bytes,
       pg_relation_size(c.oid)::bigint AS heap_bytes,
       s.n_live_tup, s.n_dead_tup, s.n_tup_ins, s.n_tup_upd, s.n_tup_hot_upd, s.n_tup_del
FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
ORDER BY 2 DESC, 1"""


def autovacuum_off(url: str) -> dict:
    """Every table of the scratch database without autovacuum (and the server's own setting, read)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
            )
        ]
        for name in tables:
            conn.execute(
                f'ALTER TABLE "{name}" SET (autovacuum_enabled = off, toast.autovacuum_enabled = off)'
            )
        server = conn.execute("SHOW autovacuum").fetchone()[0]
    return {"server_autovacuum": server, "tables_with_autovacuum_off": len(tables)}


def orders_curve(conn, started_at: datetime, per_request: int, expected: int) -> dict:
    """Seconds from the first request to each successive block's last order, from the orders' `created`."""
    step = 2 * BLOCK  # two orders per recipient
    marks = conn.execute(
        """SELECT n, created FROM (SELECT created, row_number() OVER (ORDER BY created) AS n
                                   FROM notification_orders) t
           WHERE n %% %s = 0 OR n = %s ORDER BY n""",
        (step, expected),
    ).fetchall()
    last = conn.execute("SELECT max(created) FROM notification_orders").fetchone()[0]
    blocks, previous = [], started_at
    for n, at in marks:
        if n % step:
            continue
        seconds = (at - previous).total_seconds()
        blocks.append(
            {"recipients": n // 2, "seconds": round(seconds, 2), "orders_per_second": round(step / seconds)}
        )
        previous = at
    return {"blocks": blocks, "seconds_to_last_order": round((last - started_at).total_seconds(), 2)}


SERVER_SQL = """
SELECT w.wal_records, w.wal_fpi, w.wal_bytes::bigint, b.checkpoints_timed + b.checkpoints_req,
       b.buffers_checkpoint, b.buffers_backend, d.blks_read, d.blks_hit
FROM pg_stat_wal w, pg_stat_bgwriter b, pg_stat_database d WHERE d.datname = current_database()"""
SERVER_FIELDS = (
    "wal_records",
    "wal_fpi",
    "wal_bytes",
    "checkpoints",
    "buffers_checkpoint",
    "buffers_backend",
    "blks_read",
    "blks_hit",
)


def server_counters(conn) -> dict[str, int]:
    """The server's WAL, checkpoint and buffer counters (cumulative; the run reports differences)."""
    return dict(zip(SERVER_FIELDS, map(int, conn.execute(SERVER_SQL).fetchone()), strict=True))


def per_recipient(before: dict, after: dict, recipients: int, scale: float = 1.0) -> dict:
    return {k: round((after[k] - before[k]) * scale / recipients, 4) for k in before}


def end_to_end(
    url: str, data_dir: Path, workdir: Path, n_requests: int, per_request: int, clients: int
) -> dict:
    import psycopg
    from db_cost import cpu_by_group
    from procfile import BACKGROUND_ROLES, Background
    from service import Server, free_port, procfile_web, request
    from thin_write import body, recipients, token

    env = dict(
        os.environ,
        DATABASE_URL=url,
        REDIS_URL=redis_url(),
        CORRESPONDENCE_DATA_DIR=str(data_dir),
        CORRESPONDENCE_QUEUE_PREFIX=PREFIX,
        PROMETHEUS_MULTIPROC_DIR=str(workdir / "prometheus"),
    )
    (workdir / "prometheus").mkdir(exist_ok=True)
    port = free_port()
    server = Server(procfile_web("app.wsgi:app", port), env, workdir / "service.log", port, "/health/live")
    background = Background(BACKGROUND_ROLES, env, workdir, workdir)
    headers = {"Authorization": f"Bearer {token(data_dir)}", "Content-Type": "application/json"}
    expected = 2 * n_requests * per_request
    lock, latencies = threading.Lock(), []

    def post(i: int) -> None:
        data = body(recipients(per_request, 100_000_000 + per_request * i), message_chars=2000)
        t = time.monotonic()
        status, answer = request("POST", port, "/correspondence/api/v1/correspondence", data, headers)
        if status != 200:
            raise SystemExit(f"Initialize answered {status}: {answer[:300]!r}")
        with lock:
            latencies.append(time.monotonic() - t)

    try:
        time.sleep(3)  # worker and relay up
        with psycopg.connect(url, autocommit=True) as conn:
            groups = {"web": server.proc.pid, **{k: p.pid for k, p in background.procs.items()}}
            counters: list[dict] = []
            cpu: list[dict] = []

            def mark() -> None:  # at the start, when the last request is answered, at the last order
                counters.append(server_counters(conn))
                cpu.append(cpu_by_group(groups))

            mark()
            started_at = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            started = time.monotonic()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(post, range(n_requests)))
            accepted = time.monotonic() - started
            mark()
            print(f"    accepted in {accepted:.1f} s; waiting for the orders ...", flush=True)
            deadline = time.monotonic() + 3600
            recorded = 0
            while time.monotonic() < deadline:
                # The statistics counter is cheap to read; count(*) confirms it.
                ins = conn.execute(
                    "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'notification_orders'"
                ).fetchone()[0]
                if ins >= expected:
                    recorded = conn.execute("SELECT count(*) FROM notification_orders").fetchone()[0]
                    if recorded >= expected:
                        break
                time.sleep(1)
            waited = time.monotonic() - started
            mark()
    finally:
        background.stop()
        server.stop()
    time.sleep(2)  # the stopped processes' statistics reach the collector
    with psycopg.connect(url, autocommit=True) as conn:
        curve = orders_curve(conn, started_at, per_request, expected)
        outcome = dict(conn.execute("SELECT status, count(*) FROM notification_orders GROUP BY 1").fetchall())
        tables = [
            dict(
                zip(
                    (
                        "table",
                        "bytes",
                        "heap_bytes",
                        "n_live_tup",
                        "n_dead_tup",
                        "n_tup_ins",
                        "n_tup_upd",
                        "n_tup_hot_upd",
                        "n_tup_del",
                    ),
                    row,
                    strict=True,
                )
            )
            for row in conn.execute(TABLES_SQL).fetchall()
        ]
    total_recipients = n_requests * per_request
    total_bytes = sum(t["bytes"] for t in tables)
    latencies.sort()
    blocks = curve["blocks"]
    return {
        "requests": n_requests,
        "recipients_per_request": per_request,
        "recipients": total_recipients,
        "clients": clients,
        "orders_expected": expected,
        "orders_recorded": recorded,
        "orders_by_status": outcome,
        "seconds_to_last_answer": round(accepted, 2),
        "seconds_to_last_order": curve["seconds_to_last_order"],
        "seconds_waited": round(waited, 2),
        "request_median_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "orders_per_second_blocks": blocks,
        "last_over_first_block": round(blocks[-1]["orders_per_second"] / blocks[0]["orders_per_second"], 3)
        if blocks
        else None,
        # Per recipient, from the first request to the last order (CPU: ms of each role's process
        # group, PostgreSQL: every server process; the machine has nothing else running).
        "cpu_ms_per_recipient": per_recipient(cpu[0], cpu[2], total_recipients, 1000),
        "cpu_ms_per_recipient_while_accepting": per_recipient(cpu[0], cpu[1], total_recipients, 1000),
        "server_per_recipient": per_recipient(counters[0], counters[2], total_recipients),
        "server_totals": {k: counters[2][k] - counters[0][k] for k in counters[0]},
        "bytes_at_rest": total_bytes,
        "bytes_per_recipient": round(total_bytes / total_recipients),
        "dead_tuples": sum(t["n_dead_tup"] for t in tables),
        "tables": tables,
    }


def markdown(e: dict) -> str:
    blocks = e["orders_per_second_blocks"]
    lines = [
        "| measure | value |",
        "|---|---|",
        f"| {e['requests']:,} × {e['recipients_per_request']} recipients ({e['orders_expected']:,} orders), "
        f"first request to last recorded order | {e['seconds_to_last_order']} s |",
        f"| last request answered | {e['seconds_to_last_answer']} s |",
    ]
    if blocks:
        lines.append(
            f"| orders/s, first / last {BLOCK:,} recipients | {blocks[0]['orders_per_second']:,} / "
            f"{blocks[-1]['orders_per_second']:,} ({e['last_over_first_block']:.0%}) |"
        )
    lines += [
        "| CPU ms per recipient, by role | "
        + ", ".join(f"{k} {v}" for k, v in e["cpu_ms_per_recipient"].items())
        + " |",
        "| WAL per recipient | "
        + f"{e['server_per_recipient']['wal_bytes']:,.0f} bytes, {e['server_per_recipient']['wal_fpi']} full pages, "
        + f"{e['server_totals']['checkpoints']} checkpoints in the run |",
        f"| bytes at rest per recipient | {e['bytes_per_recipient']:,} ({e['bytes_at_rest'] / 2**20:,.0f} MiB) |",
    ]
    lines += [
        "",
        "| table | MiB | live | dead | ins | upd | hot upd | del |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in e["tables"]:
        if t["bytes"] >= 1 << 20 or t["n_dead_tup"] or t["n_tup_upd"]:
            lines.append(
                f"| {t['table']} | {t['bytes'] / 2**20:,.1f} | {t['n_live_tup']:,} | {t['n_dead_tup']:,} | "
                f"{t['n_tup_ins']:,} | {t['n_tup_upd']:,} | {t['n_tup_hot_upd']:,} | {t['n_tup_del']:,} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--recipients", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--name", default="million")
    args = parser.parse_args()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    admin = admin_database_url()
    workdir = Path(tempfile.mkdtemp(prefix="bench-million-"))
    result: dict = {"command": " ".join([".venv/bin/python", "bench/million.py", *sys.argv[1:]])}
    import subprocess

    result["commit"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    url, name = scratch_database(admin)
    try:
        from thin_write import seed

        seed(url)
        result["autovacuum"] = autovacuum_off(url)
        print(f"{args.requests} × {args.recipients} recipients end to end ...", flush=True)
        result["e"] = end_to_end(url, workdir / "data", workdir, args.requests, args.recipients, args.clients)
    finally:
        from app.db.pool import close_pools

        close_pools()
        drop_database(admin, name)
    result["markdown"] = markdown(result["e"])
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.name}-{stamp}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(result["markdown"])
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
