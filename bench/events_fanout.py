"""The events fan-out with no subscribers (nearly every row under load): rows forwarded per second
at a given page size (by hand, not in CI; about 30 s).

    .venv/bin/python bench/events_fanout.py [--correspondences 5000] [--events-each 20] [--pages 50 1000]

Creates the correspondences through the Initialize use case on a scratch database, then for each
page size in turn (alternating, twice) writes `--events-each` order events per correspondence and
times `fan_out_all` until every row is forwarded. Writes bench/results/events-fanout-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from datetime import UTC, datetime

from common import ROOT, admin_database_url, drop_database, scratch_database
from notification_orders import create

from app.db.pool import Database, close_pools
from app.events_settings import load_event_settings
from app.usecases.deliver_events import fan_out_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--correspondences", type=int, default=5000)
    parser.add_argument("--events-each", type=int, default=20)
    parser.add_argument("--pages", type=int, nargs="+", default=[50, 1000])
    args = parser.parse_args()
    admin = admin_database_url()
    url, name = scratch_database(admin)
    db = Database(url, 4)
    runs = []
    try:
        create(db, args.correspondences)
        settings = load_event_settings()
        for page in args.pages * 2:
            with db.transaction() as conn:
                conn.execute(
                    """INSERT INTO correspondence_events (event_type, correspondence_id, subject)
                       SELECT 'notificationcreated', c.id, c.recipient
                       FROM correspondences c, generate_series(1, %s)""",
                    (args.events_each,),
                )
            wall, cpu = time.perf_counter(), time.process_time()
            rows = fan_out_all(db, settings, limit=page)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            runs.append(
                {
                    "page": page,
                    "rows": rows,
                    "seconds": round(wall, 3),
                    "python_cpu_seconds": round(cpu, 3),
                    "rows_per_second": round(rows / wall),
                }
            )
            print(json.dumps(runs[-1]))
    finally:
        close_pools()
        drop_database(admin, name)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    out = ROOT / "bench" / "results" / f"events-fanout-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(
        json.dumps({"runs": runs, "commit": commit.stdout.strip(), "args": vars(args)}, indent=1) + "\n"
    )
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
