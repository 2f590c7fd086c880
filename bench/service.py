"""The service against this machine's ceilings, in one run (by hand, not in CI; about 90 s).

    .venv/bin/python bench/service.py [--duration 10] [--rounds 2] [--connections 16] [--profile]

Needs `wrk` on the PATH (Debian: `apt-get install -y wrk`); uses the local PostgreSQL/Redis when
present, else the embedded ones (bench/common.py), scratch databases and a unique queue prefix.

(a) 1-recipient Initialize (examples/initialize.json with one recipient): requests/s and
    p50/p95/p99 with wrk at a fixed concurrency, against the service started as the README does
    (gunicorn with the Procfile's `web` settings; demo registry loaded as `correspondence seed-demo`
    does; a token minted with the development key under a scratch CORRESPONDENCE_DATA_DIR);
(b) the same request to a bare Flask + psycopg endpoint that does one INSERT of the request JSON
    (bench/bare_app.py) under the same gunicorn settings: the ceiling for a thin endpoint; a/b;
(c) a 500-recipient Initialize wall time (median, sequential requests) against a 1-recipient one,
    started once the worker has caught up with the orders of (a), with the worker creating each
    request's orders meanwhile; then again with the worker, relay and beat stopped (the request path
    alone);
(d) notification orders recorded per second with 1 and 2 worker processes
    (bench/notification_orders.py) against a no-op Celery task round trip on the same Redis
    (bench/noop_celery.py), with the ratio.

Writes bench/results/service-<UTC time>.json and .md (the table for docs/developing.md) and prints the table.
BENCH_GUNICORN_ARGS (e.g. `--worker-class gthread --threads 32`) is appended to the Procfile's web
flags for both servers, to compare worker classes (bench/slow_clients.py reads it too).
--profile also samples the service's gunicorn workers with py-spy during an extra load run and
reports where the time goes (raw stacks kept in bench/results/).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PREFIX = f"bench-{uuid.uuid4().hex[:8]}"
# This run's queue names (load_settings reads it; the processes the bench starts inherit it).
os.environ["CORRESPONDENCE_QUEUE_PREFIX"] = PREFIX
os.environ["NOOP_QUEUE"] = f"{PREFIX}.noop"

from common import ROOT, admin_database_url, drop_database, redis_url, scratch_database  # noqa: E402

RESULTS = BENCH / "results"
INITIALIZE = "/correspondence/api/v1/correspondence"
SENDER = "991825827"
RECIPIENT = "urn:altinn:organization:identifier-no:313721779"
TARGETS = {"a_over_b": 0.5, "c_ratio": 10.0, "d_ratio": 0.7}


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_web(app_module: str, port: int, chdir: Path | None = None) -> list[str]:
    """The Procfile's web command, bound to 127.0.0.1:port, serving app_module."""
    line = next(item for item in (ROOT / "Procfile").read_text().splitlines() if item.startswith("web:"))
    args = shlex.split(line.split(":", 1)[1])
    if args[0] != "gunicorn":
        raise SystemExit(f"unexpected Procfile web line: {line}")
    args[0] = str(Path(sys.executable).parent / "gunicorn")
    args[1] = app_module
    args[args.index("--bind") + 1] = f"127.0.0.1:{port}"
    if chdir is not None:
        args += ["--chdir", str(chdir)]
    return args + shlex.split(os.environ.get("BENCH_GUNICORN_ARGS", ""))


def gunicorn_settings() -> str:
    """The Procfile's web flags (and BENCH_GUNICORN_ARGS, which override them: gunicorn takes the
    last value of a repeated flag, e.g. `--worker-class gthread --threads 32`)."""
    line = next(item for item in (ROOT / "Procfile").read_text().splitlines() if item.startswith("web:"))
    args = shlex.split(line.split(":", 1)[1])[2:] + shlex.split(os.environ.get("BENCH_GUNICORN_ARGS", ""))
    return " ".join(a for i, a in enumerate(args) if a != "--bind" and (i == 0 or args[i - 1] != "--bind"))


class Server:
    """A gunicorn process group of our own; stopped by its process group id."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, port: int, ready_path: str) -> None:
        self.port = port
        self.log = log
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}; see {log}")
            try:
                status, _ = request("GET", port, ready_path)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not answer {ready_path} in 60 s; see {log}")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def request(
    method: str, port: int, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------- load


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
{auth}
done = function(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {{\\"requests\\":%d,\\"duration_us\\":%d,\\"non2xx\\":%d,\\"connect_errors\\":%d," ..
    "\\"read_errors\\":%d,\\"write_errors\\":%d,\\"timeouts\\":%d,\\"p50_us\\":%d,\\"p95_us\\":%d," ..
    "\\"p99_us\\":%d,\\"mean_us\\":%.1f,\\"max_us\\":%d}}\\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
end
"""


def wrk(
    port: int, path: str, body: bytes, token: str | None, seconds: int, connections: int, workdir: Path
) -> dict:
    script = workdir / f"wrk-{port}.lua"
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script.write_text(WRK_SCRIPT.format(body=body.decode(), auth=auth))
    cmd = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{path}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((item for item in out.stdout.splitlines() if item.startswith("WRKJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")
    raw = json.loads(line[len("WRKJSON ") :])
    seconds_run = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": round(seconds_run, 2),
        "requests_per_second": round(raw["requests"] / seconds_run, 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": round(raw["mean_us"] / 1000, 2),
        "max_ms": raw["max_us"] / 1000,
        "non_2xx": raw["non2xx"],
        "socket_errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"],
        "command": " ".join([*cmd[:-2], "<POST script>"]),
    }


BACKGROUND: dict[str, int] = {}  # Procfile role → process group id, while the roles run


def cpu_seconds(pgid: int) -> dict[str, float]:
    """CPU time used so far by the server's process group, all PostgreSQL and Redis processes, the
    Procfile's background roles, and the whole machine (/proc; PostgreSQL includes anything else
    using it meanwhile)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"server": 0.0, "postgresql": 0.0, "redis": 0.0, "background": 0.0}
    groups = set(BACKGROUND.values())
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
        if int(fields[2]) == pgid:
            used["server"] += seconds
        elif int(fields[2]) in groups:
            used["background"] += seconds
        elif comm.startswith("postgres"):
            used["postgresql"] += seconds
        elif comm.startswith("redis-server"):
            used["redis"] += seconds
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    used["machine"] = (sum(values) - values[3] - values[4]) / tick  # all but idle and iowait
    return used


def measured(server: Server, run) -> dict:
    """Run the load; add CPU milliseconds per request of each party (wrk is this process's child)."""
    import resource

    before, child_before = cpu_seconds(server.proc.pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run()
    after, child_after = cpu_seconds(server.proc.pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    n = result["requests"] or 1
    split = {k: round((after[k] - before[k]) * 1000 / n, 3) for k in before}
    split["wrk"] = round(
        (child_after.ru_utime + child_after.ru_stime - child_before.ru_utime - child_before.ru_stime)
        * 1000
        / n,
        3,
    )
    split["other"] = round(
        split["machine"]
        - split["server"]
        - split["postgresql"]
        - split["redis"]
        - split["background"]
        - split["wrk"],
        3,
    )  # anything else on the machine: should be near 0
    result["cpu_ms_per_request"] = split
    return result


def orders_recorded(url: str) -> dict[str, int]:
    """What the background roles did meanwhile: correspondences with orders recorded, of all (every
    correspondence of these requests has a notification; the statement that records a
    correspondence's orders deletes its outbox row, migration 0019)."""
    import psycopg

    with psycopg.connect(url) as conn:
        total, pending = conn.execute(
            "SELECT (SELECT count(*) FROM correspondences), (SELECT count(*) FROM notification_outbox)"
        ).fetchone()
    return {"outbox_completed": total - pending, "outbox_rows": total}


def initialize_body(recipients: list[str]) -> bytes:
    data = json.loads((ROOT / "examples" / "initialize.json").read_text(encoding="utf-8"))
    data["Recipients"] = recipients
    return json.dumps(data, ensure_ascii=False).encode()


def sequential_medians(times_1: list[float], times_500: list[float]) -> dict:
    """(c)'s medians in ms of 1- and 500-recipient requests, and every 500-recipient time."""
    return {
        "ms_1": round(statistics.median(times_1) * 1000, 2),
        "ms_500": round(statistics.median(times_500) * 1000, 2),
        "runs_1": len(times_1),
        "runs_500": len(times_500),
        "all_ms_500": [round(t * 1000, 1) for t in times_500],
    }


def timed_posts(port: int, body: bytes, token: str, warmup: int, runs: int, expect: int) -> list[float]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    times = []
    for i in range(warmup + runs):
        started = time.perf_counter()
        status, data = request("POST", port, INITIALIZE, body, headers)
        elapsed = time.perf_counter() - started
        if status != 200 or len(json.loads(data)["correspondences"]) != expect:
            raise SystemExit(f"Initialize answered {status}: {data[:500]!r}")
        if i >= warmup:
            times.append(elapsed)
    return times


# ---------------------------------------------------------------- Celery


def noop_rate(broker: str, workers: int, tasks: int) -> dict:
    """No-op task round trip: publish `tasks` messages, time until every one has run."""
    import noop_celery
    import redis

    client = redis.Redis.from_url(broker)
    env = dict(os.environ, REDIS_URL=broker)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "noop_celery",
                "worker",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--without-mingle",
                "--without-gossip",
                "-Q",
                noop_celery.QUEUE,
                "--hostname",
                f"noop{i}-{PREFIX}@%h",
            ],
            cwd=BENCH,
            env=env,
            stdout=open(f"/tmp/bench-noop-{i}.log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for i in range(workers)
    ]

    def publish(n: int) -> None:
        with noop_celery.app.producer_or_acquire() as producer:
            for _ in range(n):
                noop_celery.app.send_task(
                    noop_celery.TASK, queue=noop_celery.QUEUE, producer=producer, retry=False
                )

    def wait_for(n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while int(client.get(noop_celery.COUNTER) or 0) < n:
            if time.monotonic() > deadline:
                raise SystemExit(f"no-op tasks: {client.get(noop_celery.COUNTER)} of {n} ran in {timeout} s")
            time.sleep(0.005)

    try:
        client.delete(noop_celery.COUNTER)
        publish(20 * workers)  # every worker up and consuming
        wait_for(20 * workers, 60)
        client.set(noop_celery.COUNTER, 0)
        started = time.perf_counter()
        publish(tasks)
        wait_for(tasks, 120)
        elapsed = time.perf_counter() - started
        return {
            "workers": workers,
            "tasks": tasks,
            "seconds": round(elapsed, 3),
            "tasks_per_second": round(tasks / elapsed, 1),
        }
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        client.delete(noop_celery.COUNTER, noop_celery.QUEUE)
        client.close()


def purge(broker: str) -> None:
    """Drop this run's queues (and kombu's bindings of them) from Redis."""
    import redis

    client = redis.Redis.from_url(broker)
    for pattern in (f"{PREFIX}*", f"_kombu.binding.{PREFIX}*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    client.close()


# ---------------------------------------------------------------- profile


# Where a request's Python CPU goes: the deepest matching frame of each sampled stack names its part.
COMPONENTS = [
    ("DB: INSERT the Initialize (one statement)", ("insert_initialization (",)),
    (
        "DB: SELECT resource, parties, key, template, attachments",
        ("initialize_lookups (", "get_attachments (", "latest_expirations ("),
    ),
    ("DB: pool, BEGIN, COMMIT", ("Database.transaction (", "Connection.transaction (")),
    ("Initialize rules and row building (rest of the use case)", ("initialize_correspondences (",)),
    ("content checks (markdown-it)", ("check_content (",)),
    ("request JSON + schema (marshmallow load)", ("read_json (", "load (app/api/json_body.py")),
    ("JWT verification", ("authenticate (",)),
    ("response (marshmallow dump, JSON)", ("Schema.dump (", "DefaultJSONProvider.dumps (", "jsonify (")),
    ("rate limiter", ("TokenBucketLimiter.take (",)),
    (
        "access log, metrics, request id hooks",
        (
            "_record (app/api/observability.py",
            "_start (app/api/observability.py",
            "_forget (app/api/observability.py",
        ),
    ),
    (
        "Flask/werkzeug/gunicorn request handling",
        ("handle_request (", "ThreadWorker.handle (", "AsyncWorker.handle (", "GeventWorker.handle ("),
    ),
    ("gunicorn accept/poll loop", ("ThreadWorker.run (", "GeventWorker.run (", "Arbiter.run (")),
    ("bare endpoint: JSON, INSERT and COMMIT", ("insert (bare_app.py",)),
]


def profile(
    server: Server,
    port: int,
    body: bytes,
    token: str | None,
    seconds: int,
    connections: int,
    workdir: Path,
    stamp: str,
    path: str = INITIALIZE,
    name: str = "profile",
) -> dict:
    """py-spy samples the GIL-holding thread of every gunicorn worker (Python CPU) while wrk loads
    the server; stacks summed over the workers and attributed to the parts of a request, each part
    also in ms per request (100 samples a second: a sample is 10 ms of holding the GIL, which on a
    loaded machine includes time the process waited for a core, so these exceed its CPU time)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("--profile needs py-spy (.venv/bin/pip install py-spy)")
    raw = RESULTS / f"{name}-{stamp}.txt"
    spies = []
    for pid in server.worker_pids():
        out = workdir / f"spy-{pid}.txt"
        cmd = [
            spy,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "100",
            "--format",
            "raw",
            "--gil",
            "--duration",
            str(seconds),
            "--nonblocking",
            "-o",
            str(out),
        ]
        spies.append((out, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    time.sleep(1)
    load = wrk(port, path, body, token, seconds - 2, connections, workdir)
    stacks: Counter[str] = Counter()
    for out, proc in spies:
        proc.wait(seconds + 30)
        if out.exists():
            for line in out.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if stack and count.isdigit():
                    stacks[stack] += int(count)
    raw.write_text("".join(f"{stack} {n}\n" for stack, n in stacks.most_common()))
    samples = sum(stacks.values())
    # The samples span py-spy's whole window (wrk runs `seconds - 2` of it): per request, divide by
    # the requests wrk counted, a slight overestimate of the load's own share.
    requests = load["requests_per_second"] * load["seconds"]
    return {
        "load": load,
        "samples": samples,
        "python_ms_per_request": round(samples * 10 / requests, 3) if requests else None,
        "raw_stacks": str(raw.relative_to(ROOT)),
        "components": components(stacks),
        "top_frames": top_frames(stacks),
    }


def components(stacks: Counter) -> list[tuple[str, float]]:
    total = sum(stacks.values()) or 1
    counts: Counter[str] = Counter()
    for stack, n in stacks.items():
        best, depth = "other", -1
        for i, frame in enumerate(stack.split(";")):
            for name, patterns in COMPONENTS:
                if i > depth and any(pattern in frame for pattern in patterns):
                    best, depth = name, i
        counts[best] += n
    return [(name, round(100 * n / total, 1)) for name, n in counts.most_common()]


def top_frames(stacks: Counter, limit: int = 30) -> list[tuple[str, float]]:
    """Inclusive share of the project's own functions (app/, workers/)."""
    total = sum(stacks.values()) or 1
    counts: Counter[str] = Counter()
    for stack, n in stacks.items():
        own = {
            frame.rsplit(":", 1)[0] + ")"
            for frame in stack.split(";")
            if "(app/" in frame or "(workers/" in frame
        }
        for frame in own:
            counts[frame] += n
    return [(frame, round(100 * n / total, 1)) for frame, n in counts.most_common(limit)]


# ---------------------------------------------------------------- report


def table(result: dict) -> str:
    a, b, c, d = result["a"], result["b"], result["c"], result["d"]
    alone = result["c_alone"]
    r = result["ratios"]

    def mark(ok: bool) -> str:
        return "met" if ok else "**missed**"

    def latency(x: dict) -> str:
        return f"{x['p50_ms']:.1f} / {x['p95_ms']:.1f} / {x['p99_ms']:.1f}"

    def cpu(x: dict) -> str:
        split = x["cpu_ms_per_request"]
        return " / ".join(
            f"{split[k]:.2f}" for k in ("server", "postgresql", "redis", "background", "wrk", "other")
        )

    orders = {o["workers"]: o for o in d["orders"]}
    noop = {n["workers"]: n for n in d["noop"]}
    rows = [
        "| measure | ours | ceiling | ratio | target |",
        "|---|---|---|---|---|",
        f"| (a)/(b) 1-recipient Initialize vs bare Flask+psycopg INSERT, req/s "
        f"| {a['requests_per_second']:,.0f} | {b['requests_per_second']:,.0f} | a/b = {r['a_over_b']:.2f} "
        f"| ≥ 0.5: {mark(r['a_over_b'] >= 0.5)} |",
        f"| (a)/(b) machine CPU ms per request (other processes left out) | {own_cpu(a):.2f} "
        f"| {own_cpu(b):.2f} | a/b = {r['a_over_b_cpu']:.2f} | |",
        f"| (a)/(b) p50 / p95 / p99 ms | {latency(a)} | {latency(b)} | p99 a/b = {a['p99_ms'] / b['p99_ms']:.1f} "
        f"| p99 ≤ 3×: {mark(a['p99_ms'] <= 3 * b['p99_ms'])} |",
        f"| (a)/(b) CPU ms per request: gunicorn / PostgreSQL / Redis / worker+relay+beat / wrk / other processes "
        f"| {cpu(a)} | {cpu(b)} | | |",
        f"| (c) 500-recipient vs 1-recipient Initialize, median ms, the request path alone (background "
        f"stopped) | {alone['ms_500']:.1f} | {alone['ms_1']:.1f} "
        f"| {r['c_alone_ratio']:.1f}× | ≤ 10×: {mark(r['c_alone_ratio'] <= 10)} |",
        f"| (c) the same while the worker creates the previous requests' orders | {c['ms_500']:.1f} "
        f"| {c['ms_1']:.1f} | {r['c_ratio']:.1f}× | ≤ 10×: {mark(r['c_ratio'] <= 10)} |",
    ]
    for n in sorted(orders):
        target = f"≥ 0.7: {mark(r['d_ratio'] >= 0.7)}" if n == 1 else ""
        processes = f"{n} worker process{'es' if n > 1 else ''}"
        rows.append(
            f"| (d) orders recorded/s vs no-op Celery tasks/s, {processes} "
            f"| {orders[n]['orders_per_second']:,.0f} | {noop[n]['tasks_per_second']:,.0f} "
            f"| {orders[n]['orders_per_second'] / noop[n]['tasks_per_second']:.2f} | {target} |"
        )
    env = result["environment"]
    notes = (
        f"\nOne run, {env['when']}, commit {env['commit']}, {env['cpus']} cores; "
        f"PostgreSQL {env['postgresql']}, Redis {env['redis']}. "
        f"gunicorn `{env['gunicorn']}` for both (a) and (b); load "
        f"`{a['command']}`, {len(a['rounds'])} alternating rounds of {a['seconds']:.0f} s each, best "
        f"round shown (a: {', '.join(f'{x:,.0f}' for x in a['rounds'])} req/s; b: "
        f"{', '.join(f'{x:,.0f}' for x in b['rounds'])}), loopback; (a) non-2xx: {a['non_2xx']}, "
        f"(b) non-2xx: {b['non_2xx']}. (c): {c['runs_1']} and {c['runs_500']} sequential requests. "
        f"(d): {orders[1]['correspondences']:,} correspondences × 2 orders, 100 per message; "
        f"no-op: {noop[1]['tasks']:,} tasks. The Procfile's worker, relay and beat ran throughout (a)–(c) "
        f"(orders recorded for {result['orders_after_a_b']['outbox_completed']:,} of "
        f"{result['orders_after_a_b']['outbox_rows']:,} correspondences at the end of (a)/(b); (c) started "
        f"once the worker had caught up, {result['backlog_drain_seconds']} s later; "
        f"{result['orders_during_a_c']['outbox_completed']:,} of {result['orders_during_a_c']['outbox_rows']:,} "
        f"by the end of (c)). "
        f"Load average before/after: {env['load_before']} / "
        f"{env['load_after']}. Command: `{result['command']}`.\n"
    )
    return "\n".join(rows) + "\n" + notes


def own_cpu(x: dict) -> float:
    split = x["cpu_ms_per_request"]
    return split["server"] + split["postgresql"] + split["redis"] + split["background"] + split["wrk"]


def environment(admin: str, broker: str, gunicorn: str) -> dict:
    import psycopg
    import redis

    with psycopg.connect(admin) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    info = redis.Redis.from_url(broker).info("server")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    )
    return {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit.stdout.strip() + ("+changes" if dirty.stdout.strip() else ""),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": pg,
        "redis": info.get("redis_version"),
        "gunicorn": gunicorn,
    }


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per round for (a) and (b)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating load rounds of (a) and (b)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (fixed concurrency)")
    parser.add_argument("--recipients", type=int, default=10000, help="correspondences for (d)")
    parser.add_argument("--noop-tasks", type=int, default=5000, help="tasks for the no-op round trip")
    parser.add_argument(
        "--profile", action="store_true", help="also sample the service with py-spy under load"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")

    started = time.monotonic()
    load_before = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    admin, broker = admin_database_url(), redis_url()
    os.environ["REDIS_URL"] = broker
    workdir = Path(tempfile.mkdtemp(prefix="bench-service-"))
    data_dir = workdir / "data"
    metrics_dir = workdir / "prometheus"
    metrics_dir.mkdir()
    url, name = scratch_database(admin)
    servers: list[Server] = []
    result: dict = {}
    background = None
    try:
        env = dict(
            os.environ,
            DATABASE_URL=url,
            REDIS_URL=broker,
            CORRESPONDENCE_DATA_DIR=str(data_dir),
            CORRESPONDENCE_QUEUE_PREFIX=PREFIX,
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        )
        seeded = subprocess.run(
            [str(Path(sys.executable).parent / "correspondence"), "seed-demo"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if seeded.returncode != 0:
            raise SystemExit(f"seed-demo failed: {seeded.stderr}")
        from app.config import DEV_ISSUER
        from app.security.tokens import load_or_create_dev_key, mint_token

        key = load_or_create_dev_key(data_dir / "keys" / "dev-signing-key.pem")
        token = mint_token(
            key, issuer=DEV_ISSUER, scopes=["altinn:correspondence.write"], org=SENDER, ttl_seconds=3600
        )
        one = initialize_body([RECIPIENT])
        many = initialize_body(
            [f"urn:altinn:organization:identifier-no:{800000000 + i:09d}" for i in range(500)]
        )

        # (a) the service and (b) the bare endpoint (same gunicorn settings, same database server),
        # both up; loaded in alternation, best round of each (the least disturbed by anything else)
        import psycopg
        from bare_app import TABLE

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(TABLE)
        port = free_port()
        service = Server(
            procfile_web("app.wsgi:app", port), env, workdir / "service.log", port, "/health/live"
        )
        servers.append(service)
        # The Procfile's worker, relay and beat run throughout (a), (b) and (c), as in production:
        # every Initialize of (a) gets its notification orders created while the load goes on.
        from procfile import BACKGROUND_ROLES, Background

        background = Background(BACKGROUND_ROLES, env, workdir, workdir)
        BACKGROUND.update({name: proc.pid for name, proc in background.procs.items()})
        bare_port = free_port()
        bare = Server(
            procfile_web("bare_app:app", bare_port, chdir=BENCH),
            dict(env, BARE_DATABASE_URL=url),
            workdir / "bare.log",
            bare_port,
            "/ping",
        )
        servers.append(bare)
        print(
            f"(a) service on :{port}, (b) bare Flask + psycopg on :{bare_port}: {args.rounds} rounds of "
            f"{args.duration} s wrk -c{args.connections} each ...",
            flush=True,
        )
        wrk(port, INITIALIZE, one, token, 3, args.connections, workdir)  # warm-up: pools, imports, caches
        wrk(bare_port, "/insert", one, None, 3, args.connections, workdir)
        rounds: dict[str, list[dict]] = {"a": [], "b": []}
        for _ in range(args.rounds):
            rounds["a"].append(
                measured(
                    service,
                    lambda: wrk(port, INITIALIZE, one, token, args.duration, args.connections, workdir),
                )
            )
            rounds["b"].append(
                measured(
                    bare,
                    lambda: wrk(bare_port, "/insert", one, None, args.duration, args.connections, workdir),
                )
            )
        for key in ("a", "b"):
            result[key] = dict(
                max(rounds[key], key=lambda x: x["requests_per_second"]),
                rounds=[x["requests_per_second"] for x in rounds[key]],
            )
        if args.profile:
            print("profile: py-spy on the bare endpoint's workers under load ...", flush=True)
            result["profile_bare"] = profile(
                bare, bare_port, one, None, 12, args.connections, workdir, stamp, "/insert", "profile-bare"
            )
        bare.stop()

        # (c) 500 against 1 recipient, sequential, on the same service
        print("(c) 500-recipient against 1-recipient Initialize ...", flush=True)
        # (c) measures the requests, not (a)'s leftovers: the worker is behind after the load rounds,
        # so wait until it has caught up (each 500-recipient request's own 1,000 orders are still
        # created while the next one runs, as in production).
        result["orders_after_a_b"] = orders_recorded(url)
        drain_started = time.monotonic()
        while (done := orders_recorded(url))["outbox_completed"] < done["outbox_rows"]:
            if time.monotonic() - drain_started > 300:
                raise SystemExit(f"the worker did not catch up with (a) in 300 s: {done}")
            time.sleep(0.5)
        result["backlog_drain_seconds"] = round(time.monotonic() - drain_started, 1)
        times_1 = timed_posts(port, one, token, warmup=5, runs=30, expect=1)
        times_500 = timed_posts(port, many, token, warmup=2, runs=7, expect=500)
        result["c"] = sequential_medians(times_1, times_500)
        # (c) again with the worker, relay and beat stopped (SIGSTOP; they go on afterwards): the
        # request path alone, without the previous requests' 1,000 orders each being created on the
        # same two cores.
        with background.paused(BACKGROUND_ROLES):
            alone_1 = timed_posts(port, one, token, warmup=5, runs=30, expect=1)
            alone_500 = timed_posts(port, many, token, warmup=2, runs=7, expect=500)
        result["c_alone"] = sequential_medians(alone_1, alone_500)
        if args.profile:
            print("profile: py-spy on the service's workers under load ...", flush=True)
            result["profile"] = profile(service, port, one, token, 12, args.connections, workdir, stamp)
        result["orders_during_a_c"] = orders_recorded(url)
        background.stop()
        service.stop()

        # (d) orders per second against the no-op task round trip; (a) left messages on the queues
        purge(broker)
        from notification_orders import run_once

        print("(d) notification orders and no-op Celery tasks, 1 and 2 worker processes ...", flush=True)
        result["d"] = {
            "orders": [run_once(admin, broker, args.recipients, n) for n in (1, 2)],
            "noop": [noop_rate(broker, n, args.noop_tasks) for n in (1, 2)],
        }
    finally:
        if background is not None:
            background.stop()
        for server in servers:
            server.stop()
        from app.db.pool import close_pools

        close_pools()
        drop_database(admin, name)
        purge(broker)

    a, b, c, d = result["a"], result["b"], result["c"], result["d"]
    result["ratios"] = {
        "a_over_b": round(a["requests_per_second"] / b["requests_per_second"], 3),
        # The same ratio from CPU per request (ours and the load generator's, other processes left
        # out): what a/b is on a machine that does nothing else, as both are CPU-bound here.
        "a_over_b_cpu": round(own_cpu(b) / own_cpu(a), 3),
        "c_ratio": round(c["ms_500"] / c["ms_1"], 2),
        "c_alone_ratio": round(result["c_alone"]["ms_500"] / result["c_alone"]["ms_1"], 2),
        "d_ratio": round(d["orders"][0]["orders_per_second"] / d["noop"][0]["tasks_per_second"], 3),
    }
    result["targets"] = TARGETS
    result["environment"] = environment(admin, broker, gunicorn_settings())
    result["environment"]["seconds_total"] = round(time.monotonic() - started, 1)
    result["environment"]["load_before"] = " ".join(f"{x:.2f}" for x in load_before)
    result["environment"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    result["command"] = " ".join([".venv/bin/python", "bench/service.py", *sys.argv[1:]])
    markdown = table(result)
    result["markdown"] = markdown
    out = RESULTS / f"service-{stamp}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    (RESULTS / f"service-{stamp}.md").write_text(markdown)
    print()
    print(markdown)
    if "profile" in result:
        p = result["profile"]
        print(
            f"profile: {p['samples']} samples at {p['load']['requests_per_second']:,.0f} req/s; "
            f"raw stacks {p['raw_stacks']}"
        )
        print(
            "  Python by part of the request (share; ms holding the GIL per request: the service, the bare endpoint):"
        )
        bare_parts = dict(result["profile_bare"]["components"])
        per_request = p["python_ms_per_request"] or 0
        bare_per_request = result["profile_bare"]["python_ms_per_request"] or 0
        for name in dict.fromkeys([n for n, _ in p["components"]] + list(bare_parts)):
            share = dict(p["components"]).get(name, 0.0)
            bare_share = bare_parts.get(name, 0.0)
            print(
                f"  {share:5.1f}%  {per_request * share / 100:5.2f} ms  {bare_per_request * bare_share / 100:5.2f} ms"
                f"  {name}"
            )
        print(f"  {100.0:5.1f}%  {per_request:5.2f} ms  {bare_per_request:5.2f} ms  all Python")
        print("  project functions (inclusive):")
        for frame, share in p["top_frames"][:15]:
            print(f"  {share:5.1f}%  {frame}")
    print(f"results: {out.relative_to(ROOT)} ({result['environment']['seconds_total']} s)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
