"""What `correspondence run` starts, and how all of it stops (README "Starting again, stopping, another address").

- Every child runs in a session of its own, so a terminal's signals (Ctrl-C, SIGHUP when it closes)
  reach `run` only; `run` stops on SIGHUP, SIGINT and SIGTERM, and when its parent dies (it watches
  its parent pid), by sending SIGTERM to each child and waiting for it.
- Every child is started with PR_SET_PDEATHSIG=SIGTERM: if `run` itself is killed (SIGKILL), the
  kernel stops the children.
- The embedded PostgreSQL is no child of ours (pg_ctl detaches it), and other commands (seed-demo,
  token) share it through pgserver's handle file. A small watchdog child (`python -m app.supervise
  watch-postgres DIR`) stops it when `run` dies without doing so and no live process uses it.
- Each child carries CORRESPONDENCE_RUN_PID and CORRESPONDENCE_DATA_DIR in its environment, and
  `<data folder>/run.json` names the live run. A new start refuses to start beside a live run,
  stops what a dead run left (any process with those two variables whose run is gone: an orphaned
  gunicorn still holding the port, say), and when the port is taken by something else says which
  process holds it and what to do.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

log = logging.getLogger("correspondence")

RUN_PID_VAR = "CORRESPONDENCE_RUN_PID"
DATA_DIR_VAR = "CORRESPONDENCE_DATA_DIR"
PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 20.0


class StartRefused(Exception):
    """`run` cannot start; the message says why and what to do."""


def _prctl():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):  # not Linux: the parent-pid watch and the next start's sweep remain
        return None


_PRCTL = _prctl()  # looked up before any fork: the child only calls it


def _die_with(parent: int):
    """A preexec_fn: SIGTERM this child when `parent` dies (and at once if it already has)."""

    def preexec() -> None:
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def start_child(cmd: list[str], **kwargs) -> subprocess.Popen:
    """A child in its own session that gets SIGTERM when this process dies (call from the main thread)."""
    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=_die_with(os.getpid()), **kwargs)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop_processes(procs: list[psutil.Process], timeout: float = STOP_TIMEOUT) -> list[psutil.Process]:
    """SIGTERM each, wait up to `timeout`, SIGKILL what is left; returns those that needed SIGKILL."""
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    left = _wait_gone(procs, timeout)
    for proc in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    _wait_gone(left, 5)
    return left


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those still running after `timeout` (a zombie counts as gone: its parent reaps it)."""
    deadline = time.monotonic() + timeout
    while True:
        left = [proc for proc in procs if _alive(proc)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


class RunState:
    """`<data folder>/run.json`: the live run's pid, start time, API address and broker URL."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "run.json"

    def read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def live(self) -> dict | None:
        """The state of a run that is still running, if any."""
        state = self.read()
        if not state:
            return None
        try:
            proc = psutil.Process(int(state["pid"]))
            if _alive(proc) and abs(proc.create_time() - float(state["started"])) < 1:
                return state
        except (psutil.Error, KeyError, ValueError, TypeError):
            pass
        return None

    def write(self, **values: object) -> None:
        state = {**(self.read() or {}), **values}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        tmp.replace(self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _marked(data_dir: Path) -> Iterator[tuple[psutil.Process, int]]:
    """Processes a run on this data folder started, with that run's pid (PostgreSQL aside: see embedded.py)."""
    me = os.getpid()
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.pid == me or proc.info["name"] in ("postgres", "postmaster"):
            continue
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        if env.get(DATA_DIR_VAR) == str(data_dir) and env.get(RUN_PID_VAR, "").isdigit():
            yield proc, int(env[RUN_PID_VAR])


def _is_run(pid: int) -> bool:
    """Is `pid` a live `correspondence run`?"""
    try:
        proc = psutil.Process(pid)
        cmdline = proc.cmdline()
    except psutil.Error:
        return False
    return _alive(proc) and "run" in cmdline and any(part.endswith("correspondence") for part in cmdline)


def orphans(data_dir: Path) -> list[psutil.Process]:
    """What runs on this data folder that are gone left running."""
    return [proc for proc, owner in _marked(data_dir) if owner != os.getpid() and not _is_run(owner)]


def started_by(data_dir: Path, run_pid: int) -> list[psutil.Process]:
    return [proc for proc, owner in _marked(data_dir) if owner == run_pid]


def port_owner(host: str, port: int) -> psutil.Process | None:
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.Error, OSError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            try:
                return psutil.Process(conn.pid)
            except psutil.NoSuchProcess:
                continue
    return None


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


class Supervisor:
    """The children of one `correspondence run`, and its stop."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.state = RunState(data_dir)
        self.children: dict[str, subprocess.Popen] = {}
        self.stop_reason: str | None = None
        self.parent = os.getppid()

    def claim(self, host: str, port: int) -> None:
        """Refuse to start beside a live run; stop what a dead one left; check the API port."""
        live = self.state.live()
        if live:
            raise StartRefused(
                f"`correspondence run` is already running on this data folder ({self.data_dir}): pid {live['pid']}, "
                f"API on {live.get('api', '?')}. Stop it first (Ctrl-C in its terminal, or `kill {live['pid']}`), "
                f"or give this one another folder: CORRESPONDENCE_DATA_DIR=... correspondence run --port ..."
            )
        left = orphans(self.data_dir)
        if left:
            names = ", ".join(f"{p.pid} ({' '.join(_cmdline(p)[:3])})" for p in left)
            log.warning("stopping what a run that did not stop left behind: %s", names)
            stop_processes(left, timeout=10)
        if not port_free(host, port):
            owner = port_owner(host, port)
            who = (
                f"pid {owner.pid} ({' '.join(_cmdline(owner)[:4])})"
                if owner
                else "another program (`ss -ltnp` shows which)"
            )
            action = f"stop it (`kill {owner.pid}`)" if owner else "stop it"
            raise StartRefused(
                f"port {port} on {host} is in use by {who}, which this data folder's runs did not "
                f"start; {action}, or choose another port: correspondence run --port {port + 1}"
            )
        os.environ[RUN_PID_VAR] = str(os.getpid())
        os.environ[DATA_DIR_VAR] = str(self.data_dir)
        self.state.write(pid=os.getpid(), started=psutil.Process().create_time(), api=f"http://{host}:{port}")

    def handle_signals(self) -> None:
        for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self.stop_reason is None:
            self.stop_reason = signal.Signals(signum).name

    def stopping(self) -> bool:
        if self.stop_reason is None and os.getppid() != self.parent:
            self.stop_reason = f"parent {self.parent} exited"
        return self.stop_reason is not None

    def start(self, name: str, cmd: list[str]) -> None:
        self.children[name] = start_child(cmd)
        self.state.write(children={n: c.pid for n, c in self.children.items()})

    def watch(self) -> int:
        """Until a stop signal, the parent's death, or a child's exit; returns the exit code."""
        while not self.stopping():
            for name, child in self.children.items():
                if child.poll() is not None:
                    log.error("%s exited with code %s; stopping", name, child.returncode)
                    self.stop_reason = f"{name} exited"
                    return 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        """SIGTERM every child (each stops its own workers), wait, SIGKILL what is left."""
        for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C does not cut the stop short
        if self.stop_reason:
            log.info("stopping (%s)", self.stop_reason)
        procs = []
        for child in self.children.values():
            if child.poll() is None:
                with contextlib.suppress(psutil.NoSuchProcess):
                    procs.append(psutil.Process(child.pid))
        killed = stop_processes(procs)
        for child in self.children.values():
            child.wait()  # reap
        if killed:
            log.warning("killed after %.0f s: %s", STOP_TIMEOUT, ", ".join(str(p.pid) for p in killed))
        # Anything a child left behind (a gunicorn or pool worker whose parent needed SIGKILL).
        stop_processes(started_by(self.data_dir, os.getpid()), timeout=5)

    def release(self) -> None:
        self.state.remove()


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline() or [proc.name()]
    except psutil.Error:
        return ["?"]


# After `run` dies outright its children have had SIGTERM from the kernel; what still runs this much
# later (a Celery worker whose broker died with `run` can hang in its warm shutdown) is killed.
DEATH_GRACE_SECONDS = 10.0


def watch_postgres(pg_dir: Path) -> None:
    """The watchdog: on SIGTERM (sent when `run` dies), make sure what that run started stops (SIGKILL
    after a grace period), then stop the embedded PostgreSQL if no one uses it."""
    from app.embedded import stop_postgres_if_unused

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    signal.sigwait({signal.SIGTERM})
    run_pid, data_dir = os.environ.get(RUN_PID_VAR, ""), os.environ.get(DATA_DIR_VAR)
    if run_pid.isdigit() and data_dir:
        left = _wait_gone(started_by(Path(data_dir), int(run_pid)), DEATH_GRACE_SECONDS)
        for proc in left:
            log.warning(
                "still running %.0f s after its run died, killed: %s", DEATH_GRACE_SECONDS, _cmdline(proc)
            )
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        _wait_gone(left, 5)
    stop_postgres_if_unused(pg_dir)


if __name__ == "__main__":  # python -m app.supervise watch-postgres DIR
    if len(sys.argv) == 3 and sys.argv[1] == "watch-postgres":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        watch_postgres(Path(sys.argv[2]))
    else:
        sys.exit("usage: python -m app.supervise watch-postgres PGDATA")
