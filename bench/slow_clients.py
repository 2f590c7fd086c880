"""Slow clients and waiting clients must not starve the API (by hand, not in CI; about a minute).

    .venv/bin/python bench/slow_clients.py [--slow 200] [--waiters 40] [--seconds 15] [--stack procfile|run]

Starts the service on scratch databases, either as the Procfile's web line (`--stack procfile`) or
with `correspondence run` (`--stack run`: API, worker, relay, beat, as a fresh machine runs it), then
on loopback only, for `--seconds` each:
  (1) `--slow` connections that send a request's headers one byte a second (no token needed);
  (2) `--waiters` Initializes with `Prefer: wait=30` whose orders never come (no worker consumes
      this run's queues under `--stack procfile`);
and meanwhile, twice a second, times `GET /health/live` and a normal 1-recipient Initialize.
Every probe must answer within 1 s. Writes bench/results/slow-clients-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

PREFIX = f"bench-{uuid.uuid4().hex[:8]}"
os.environ["CORRESPONDENCE_QUEUE_PREFIX"] = PREFIX

from common import ROOT, admin_database_url, drop_database, redis_url, scratch_database  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
INITIALIZE = "/correspondence/api/v1/correspondence"


def probe(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> float | None:
    """Seconds to a complete answer, None when none came within 5 s."""
    import http.client

    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return time.monotonic() - started if resp.status == 200 else None
    except OSError:
        return None
    finally:
        conn.close()


def slow_client(port: int, stop: threading.Event) -> None:
    """Headers at one byte a second until stopped."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return
    data = f"POST {INITIALIZE} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a" * 1000
    try:
        for ch in data:
            if stop.wait(1.0):
                break
            sock.send(ch.encode())
    except OSError:
        pass
    finally:
        sock.close()


def waiter(port: int, body: bytes, headers: dict[str, str]) -> None:
    probe(port, "POST", INITIALIZE, body, {**headers, "Prefer": "wait=30"})


def phase(port: int, seconds: float, body: bytes, headers: dict[str, str], load) -> dict:
    stop = threading.Event()
    threads = load(stop)
    time.sleep(2)  # let the load take hold
    health, initialize = [], []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        health.append(probe(port, "GET", "/health/live", None, {}))
        initialize.append(probe(port, "POST", INITIALIZE, body, headers))
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(40)

    def summary(times: list[float | None]) -> dict:
        ok = sorted(t for t in times if t is not None)
        return {
            "probes": len(times),
            "failed_or_over_5s": len(times) - len(ok),
            "max_ms": round(ok[-1] * 1000, 1) if ok else None,
            "median_ms": round(ok[len(ok) // 2] * 1000, 1) if ok else None,
            "within_1s": sum(1 for t in ok if t <= 1.0) == len(times),
        }

    return {"health_live": summary(health), "initialize": summary(initialize)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--waiters", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--stack", choices=["procfile", "run"], default="procfile")
    args = parser.parse_args()
    from service import Server, free_port, procfile_web
    from thin_write import body, recipients, seed, token

    admin = admin_database_url()
    url, name = scratch_database(admin)
    workdir = Path(tempfile.mkdtemp(prefix="bench-slow-"))
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        REDIS_URL=redis_url(),
        CORRESPONDENCE_DATA_DIR=str(workdir / "data"),
        CORRESPONDENCE_QUEUE_PREFIX=PREFIX,
        PROMETHEUS_MULTIPROC_DIR=str(workdir / "prometheus"),
        PORT=str(port),
    )
    (workdir / "prometheus").mkdir()
    result: dict = {
        "stack": args.stack,
        "slow_connections": args.slow,
        "waiters": args.waiters,
        "command": " ".join([".venv/bin/python", "bench/slow_clients.py", *sys.argv[1:]]),
    }
    run_proc = None
    server = None
    try:
        seed(url)
        if args.stack == "procfile":
            server = Server(
                procfile_web("app.wsgi:app", port), env, workdir / "service.log", port, "/health/live"
            )
            result["web"] = " ".join(procfile_web("app.wsgi:app", port)[1:])
        else:
            run_proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "correspondence"), "run"],
                cwd=ROOT,
                env=env,
                stdout=open(workdir / "run.log", "wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            deadline = time.monotonic() + 60
            while probe(port, "GET", "/health/live", None, {}) is None:
                if time.monotonic() > deadline or run_proc.poll() is not None:
                    raise SystemExit(f"correspondence run did not come up; see {workdir / 'run.log'}")
                time.sleep(0.5)
        headers = {"Authorization": f"Bearer {token(workdir / 'data')}", "Content-Type": "application/json"}
        one = body(recipients(1), message_chars=200)
        result["baseline"] = phase(port, 3, one, headers, lambda stop: [])

        def slow(stop: threading.Event) -> list[threading.Thread]:
            threads = [
                threading.Thread(target=slow_client, args=(port, stop), daemon=True) for _ in range(args.slow)
            ]
            for t in threads:
                t.start()
            return threads

        def waiting(stop: threading.Event) -> list[threading.Thread]:
            threads = [
                threading.Thread(target=waiter, args=(port, one, headers), daemon=True)
                for _ in range(args.waiters)
            ]
            for t in threads:
                t.start()
            return threads

        print(f"(1) {args.slow} slow connections ...", flush=True)
        result["slow_clients"] = phase(port, args.seconds, one, headers, slow)
        print(f"(2) {args.waiters} waiting clients ...", flush=True)
        result["waiters_phase"] = phase(port, args.seconds, one, headers, waiting)
    finally:
        if server is not None:
            server.stop()
        if run_proc is not None:
            import signal

            os.killpg(run_proc.pid, signal.SIGTERM)
            run_proc.wait(60)
        from app.db.pool import close_pools

        close_pools()
        drop_database(admin, name)
        shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"slow-clients-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2))
    for key in ("baseline", "slow_clients", "waiters_phase"):
        print(key, json.dumps(result[key]))
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
