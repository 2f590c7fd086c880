"""The Procfile's background roles (worker, events, relay, beat) as benchmarks run them, each in a
process group of its own, with the commands resolved to this virtual environment and the shell's
`${NAME:-default}` expanded as the Procfile's shell would."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from common import ROOT

BIN = Path(sys.executable).parent
BACKGROUND_ROLES = ["worker", "events", "relay", "beat"]
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def expand(word: str, env: dict[str, str]) -> str:
    """`${NAME}` and `${NAME:-default}` as sh expands them (the Procfile's only shell syntax)."""
    return _VARIABLE.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), word)


def roles(env: dict[str, str] | None = None) -> dict[str, list[str]]:
    env = dict(os.environ) if env is None else env
    lines = (ROOT / "Procfile").read_text().splitlines()
    found = {}
    for line in lines:
        if ":" not in line or line.lstrip().startswith("#"):
            continue
        name, command = line.split(":", 1)
        args = [expand(word, env) for word in shlex.split(command)]
        if (BIN / args[0]).exists():
            args[0] = str(BIN / args[0])
        found[name.strip()] = args
    return found


class Background:
    """Started roles; stop() ends every process group (TERM, then KILL)."""

    def __init__(self, names: list[str], env: dict[str, str], logdir: Path, schedule_dir: Path) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        all_roles = roles(env)
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
