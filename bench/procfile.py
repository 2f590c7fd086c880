"""The Procfile's background roles (worker, relay, beat) as benchmarks run them, each in a process
group of its own, with the commands resolved to this virtual environment."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from common import ROOT

BIN = Path(sys.executable).parent


def roles() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    found = {}
    for line in lines:
        if ":" not in line or line.lstrip().startswith("#"):
            continue
        name, command = line.split(":", 1)
        args = shlex.split(command)
        if (BIN / args[0]).exists():
            args[0] = str(BIN / args[0])
        found[name.strip()] = args
    return found


class Background:
    """Started roles; stop() ends every process group (TERM, then KILL)."""

    def __init__(self, names: list[str], env: dict[str, str], logdir: Path, schedule_dir: Path) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        all_roles = roles()
        for name in names:
            args = [
                a.replace("/tmp/celerybeat-schedule", str(schedule_dir / "celerybeat-schedule"))
                for a in all_roles[name]
            ]
            self.procs[name] = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdout=open(logdir / f"{name}.log", "wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @contextlib.contextmanager
    def paused(self, names: list[str]) -> Iterator[None]:
        """Stop these roles' process groups (SIGSTOP) for the block, then let them go on (SIGCONT)."""
        groups = [self.procs[n].pid for n in names if self.procs[n].poll() is None]
        for pid in groups:
            os.killpg(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in groups:
                os.killpg(pid, signal.SIGCONT)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
