"""gunicorn reads this file from the working folder: Prometheus multiprocess mode for /metrics.

Every worker writes its counters to files in PROMETHEUS_MULTIPROC_DIR (emptied at start), and
/metrics adds them up, so a scrape sees all workers, not the one that answered.
"""

import os
import shutil
import tempfile


def on_starting(server):
    from app.config import load_settings

    problems = load_settings().identity_problems()
    if problems:  # before any worker starts: one clear line, not a worker's traceback per boot
        raise SystemExit("refusing to start: " + "; ".join(problems))
    folder = os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR",
        os.path.join(tempfile.gettempdir(), f"correspondence-metrics-{os.getpid()}"),
    )
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
