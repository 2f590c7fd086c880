"""Progress display: a bar redrawn in place on a terminal, a plain line per update elsewhere.

    sending  ███████████░░░░░░░░░░░░░  46% 46,000/100,000 rows  2,310/s  ETA 0:00:23  failed 0  retries 2
    [sending] 46,000/100,000 rows (46%), 2,310 rows/s, ETA 0:00:23, failed 0, retries 2

Thread-safe: workers call `advance`, a ticker thread redraws (every 0.2 s on a terminal, every
`interval` seconds in plain mode, and once at the end).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

MODES = ("auto", "bar", "plain", "none")


def choose_mode(mode: str, stream: TextIO) -> str:
    if mode != "auto":
        return mode
    return "bar" if getattr(stream, "isatty", lambda: False)() else "plain"


def _duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "--:--:--"
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    def __init__(
        self,
        label: str,
        total: int,
        *,
        unit: str = "rows",
        stream: TextIO | None = None,
        mode: str = "auto",
        interval: float = 2.0,
        extra: Callable[[], str] | None = None,
        show_failed: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.mode = choose_mode(mode, self.stream)
        self.interval = interval if self.mode == "plain" else 0.2
        self.extra = extra
        self.show_failed = show_failed
        self.clock = clock
        self.done = 0  # counted towards the total (also those found done by an earlier run)
        self.worked = 0  # done by this run: the rate and ETA count only these
        self.failed = 0
        self._lock = threading.Lock()  # the counters
        self._out = threading.Lock()  # the stream
        self._started = clock()
        self._last_line = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.mode != "none":
            self._thread = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def advance(self, n: int = 1, *, failed: int = 0, skipped: bool = False) -> None:
        with self._lock:
            self.done += n
            self.failed += failed
            if not skipped:
                self.worked += n

    def rate(self) -> float:
        elapsed = self.clock() - self._started
        return self.worked / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        rate = self.rate()
        remaining = max(0, self.total - self.done)
        if remaining == 0:
            return 0.0
        return remaining / rate if rate > 0 else None

    def line(self, width: int | None = None) -> str:
        with self._lock:
            done, total, failed = self.done, self.total, self.failed
        percent = 100 * done / total if total else 100.0
        rate, eta = self.rate(), self.eta()
        extras = [f"failed {failed:,}"] if self.show_failed else []
        extras += [self.extra()] if self.extra else []
        extras = [e for e in extras if e]
        if self.mode == "plain":
            return (
                f"[{self.label}] {done:,}/{total:,} {self.unit} ({percent:.0f}%), {rate:,.0f} {self.unit}/s, "
                f"ETA {_duration(eta)}" + "".join(f", {e}" for e in extras)
            )
        tail = (
            f" {percent:3.0f}% {done:,}/{total:,} {self.unit}  {rate:,.0f}/s  ETA {_duration(eta)}"
            + "".join(f"  {e}" for e in extras)
        )
        bar_width = max(10, min(30, (width or 100) - len(self.label) - len(tail) - 3))
        filled = int(bar_width * done / total) if total else bar_width
        return f"{self.label}  {'█' * filled}{'░' * (bar_width - filled)}{tail}"

    def refresh(self, final: bool = False) -> None:
        if self.mode == "none":
            return
        with self._out:
            if self.mode == "bar":
                width = self._width()
                text = self.line(width)[: width - 1]
                pad = " " * max(0, len(self._last_line) - len(text))
                self.stream.write("\r" + text + pad + ("\n" if final else ""))
                self._last_line = text
            else:
                text = self.line()
                if text == self._last_line:
                    return
                self.stream.write(text + "\n")
                self._last_line = text
            self.stream.flush()

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 100
        except (AttributeError, OSError, ValueError):
            return shutil.get_terminal_size((100, 20)).columns

    def note(self, text: str) -> None:
        """A message line that leaves the display intact (on a terminal: above the bar)."""
        with self._out:
            if self.mode == "bar":
                self.stream.write("\r" + " " * len(self._last_line) + "\r" + text + "\n")
                self._last_line = ""
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.mode != "none":
            self.refresh(final=True)
