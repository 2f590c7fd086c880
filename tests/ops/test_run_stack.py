"""`correspondence run` as a newcomer runs it (embedded PostgreSQL and Redis): quiet when idle, and
nothing it started is left once it stops: on SIGHUP to its process group (the terminal closed), when
it is killed outright, and when its parent dies; the next start cleans up what a crash left."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from app.embedded import free_port
from app.supervise import port_free

BIN = Path(sys.executable).parent / "correspondence"
ROLES = {"web", "worker", "events", "relay", "beat", "postgres-watchdog"}
IDLE_SECONDS = 8


def stack_env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "LOG_LEVEL", "LOG_FORMAT", "PORT")
    }
    env["CORRESPONDENCE_DATA_DIR"] = str(data_dir)
    return env


class Stack:
    """`correspondence run` in a process group of its own (as a shell's foreground job), output collected."""

    def __init__(self, data_dir: Path, *, under_parent: bool = False, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        cmd = [str(BIN), "run", "--port", str(self.port)]
        if under_parent:  # a parent that starts it and then dies
            cmd = [
                sys.executable,
                "-c",
                "import subprocess, sys, time; subprocess.Popen(sys.argv[1:]); time.sleep(600)",
                *cmd,
            ]
        self.proc = subprocess.Popen(
            cmd,
            env=stack_env(data_dir),
            cwd=data_dir.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[tuple[float, str]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def state(self) -> dict:
        try:
            return json.loads((self.data_dir / "run.json").read_text())
        except (OSError, ValueError):
            return {}

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output()
            if (
                "worker@" in text
                and " ready." in text
                and "beat: Starting" in text
                and "outbox relay looking for new rows" in text
                and not port_free("127.0.0.1", self.port)
                and set(self.state().get("children", {})) == ROLES
            ):
                return
            if self.proc.poll() is not None and not self.state():
                break
            time.sleep(0.2)
        pytest.fail(f"the stack did not come up:\n{self.output()[-5000:]}")

    @property
    def run_pid(self) -> int:
        return int(self.state()["pid"])

    def processes(self) -> list[psutil.Process]:
        """`run`, everything below it, and the embedded PostgreSQL (pg_ctl detaches it)."""
        root = psutil.Process(self.run_pid)
        procs = [root, *root.children(recursive=True)]
        pid_file = self.data_dir / "postgres" / "postmaster.pid"
        postmaster = psutil.Process(int(pid_file.read_text().split("\n", 1)[0]))
        procs += [postmaster, *postmaster.children(recursive=True)]
        names = {" ".join(p.cmdline()[1:3]) for p in procs}
        assert any("gunicorn" in n for n in names) and any(
            "redis-server" in " ".join(p.cmdline()) for p in procs
        )
        return procs


def still_running(procs: list[psutil.Process], timeout: float = 30) -> list[str]:
    psutil.wait_procs(procs, timeout=timeout)
    left = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            pass
    return left


def handle_pids(data_dir: Path) -> list[int]:
    return json.loads((data_dir / "postgres" / ".handle_pids.json").read_text())


@pytest.fixture(scope="module")
def stack_dir() -> Iterator[Path]:
    # Not under pytest's base folder: as root, pgserver runs PostgreSQL as the user `pgserver` and opens
    # the parent folders to it, and a concurrent pytest session closes pytest-of-root again.
    folder = Path(tempfile.mkdtemp(prefix="correspondence-run-stack-"))
    yield folder / "data"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(stack_dir):
    running = Stack(stack_dir)
    running.wait_ready()
    yield running
    if running.proc.poll() is None:
        os.killpg(running.proc.pid, signal.SIGTERM)
        running.proc.wait(60)


def test_an_idle_stack_is_quiet_at_the_default_level(stack):
    text = stack.output()
    for needed in (
        "broker: redis://127.0.0.1:",
        "development signing key:",
        f"API on http://127.0.0.1:{stack.port}",
    ):
        assert needed in text  # what a newcomer needs is said once, at INFO
    time.sleep(2)  # beat's first round and the worker's start-up lines
    start = time.monotonic()
    time.sleep(IDLE_SECONDS)  # 8 publish scans, 1-2 outbox sweeps (before: ~6 lines a second)
    window = [line for at, line in stack.lines if start <= at < start + IDLE_SECONDS]
    assert window == [], f"{len(window)} lines in {IDLE_SECONDS} s idle:\n" + "\n".join(window)


def test_sighup_to_its_process_group_stops_everything_it_started(stack):
    procs = stack.processes()
    os.killpg(stack.proc.pid, signal.SIGHUP)  # what a terminal does when it closes
    assert stack.proc.wait(60) == 0
    assert still_running(procs) == []
    assert port_free("127.0.0.1", stack.port)
    assert not (stack.data_dir / "run.json").exists()
    assert handle_pids(stack.data_dir) == []
    assert "stopping (SIGHUP)" in stack.output()


def test_killed_outright_it_leaves_nothing_running(stack_dir, stack):
    assert stack.proc.poll() is not None  # the module's first stack is down: this one reuses its data
    first = Stack(stack_dir)
    first.wait_ready()
    procs = first.processes()
    os.kill(first.run_pid, signal.SIGKILL)  # no handler runs: the kernel and the watchdog stop the rest
    assert still_running(procs) == [], first.output()[-3000:]
    assert port_free("127.0.0.1", first.port)
    assert handle_pids(stack_dir) == []  # the watchdog dropped the dead pid before stopping PostgreSQL
    assert (stack_dir / "run.json").exists()  # left behind: the next start sees its run is gone


def test_the_next_start_cleans_up_and_it_stops_when_its_parent_dies(stack_dir, stack):
    # What a crash of an older version left: a dead pid in the handle file (which kept PostgreSQL
    # up after every later stop) and a process of ours (it carries the run's variables) on the port.
    dead = json.loads((stack_dir / "run.json").read_text())["pid"]
    (stack_dir / "postgres" / ".handle_pids.json").write_text(json.dumps([dead]))
    port = free_port()
    orphan = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        env=dict(stack_env(stack_dir), CORRESPONDENCE_RUN_PID=str(dead)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    running = None
    try:
        deadline = time.monotonic() + 10
        while port_free("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.05)
        running = Stack(stack_dir, port=port, under_parent=True)
        running.wait_ready()
        assert orphan.wait(15) is not None  # stopped by the new start
        assert "stopping what a run that did not stop left behind" in running.output()
        assert handle_pids(stack_dir) == [running.run_pid]
        procs = running.processes()
        running.proc.kill()  # the parent, SIGKILL: `run` is told by no one
        assert still_running(procs) == [], running.output()[-3000:]  # PostgreSQL too: no stale pid keeps it
        assert port_free("127.0.0.1", port)
        assert "stopping (parent" in running.output()
    finally:
        if orphan.poll() is None:
            orphan.kill()
        if running is not None:
            os.killpg(running.proc.pid, signal.SIGKILL)


def test_a_port_held_by_someone_else_is_refused_with_what_to_do(tmp_path):
    data_dir = tmp_path / "data"
    stranger = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        port = None
        while port is None and time.monotonic() < deadline:
            for conn in psutil.Process(stranger.pid).net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    port = conn.laddr.port
            time.sleep(0.05)
        out = subprocess.run(
            [str(BIN), "run", "--port", str(port)],
            env=stack_env(data_dir),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 1
        assert f"port {port} on 127.0.0.1 is in use by pid {stranger.pid}" in out.stderr
        assert f"kill {stranger.pid}" in out.stderr and f"--port {port + 1}" in out.stderr
        assert stranger.poll() is None  # not ours: left alone
        assert not (data_dir / "postgres").exists()  # refused before anything was started
    finally:
        stranger.kill()


def test_a_second_run_on_a_live_runs_data_folder_is_refused(tmp_path):
    from app.supervise import RunState

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    me = psutil.Process()  # stands in for the live run
    RunState(data_dir).write(pid=me.pid, started=me.create_time(), api="http://127.0.0.1:8080")
    out = subprocess.run(
        [str(BIN), "run", "--port", str(free_port())],
        env=stack_env(data_dir),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert (
        f"`correspondence run` is already running on this data folder ({data_dir}): pid {me.pid}"
        in out.stderr
    )
    assert not (data_dir / "postgres").exists()  # nothing was started
