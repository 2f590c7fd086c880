"""What an Initialize stores, and 100,000 recipients end to end (by hand, not in CI; about a minute).

    .venv/bin/python bench/thin_write.py [--requests 200] [--recipients 500] [--clients 4]

(s) Storage: the growth of every table (with its indexes and TOAST) per Initialize, for a
    1-recipient and a 500-recipient request with a 30,000-character body, and for a 1-recipient
    request padded with 900 KB of properties the contract does not know. In process (the app's own
    request handling, no relay or worker: the rows as Initialize leaves them), on a scratch database.
(e) End to end: `--requests` Initializes of `--recipients` recipients each (notification with
    reminder: two orders per correspondence, local gateway), posted by `--clients` concurrent
    clients to the service started as the Procfile's web line, with the Procfile's worker, relay and
    beat; measured from the first request to the last recorded order.

Writes bench/results/thin-write-<UTC time>.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PREFIX = f"bench-{uuid.uuid4().hex[:8]}"
os.environ["CORRESPONDENCE_QUEUE_PREFIX"] = PREFIX  # this run's queues (read by load_settings)

from common import ROOT, admin_database_url, drop_database, redis_url, scratch_database  # noqa: E402

RESULTS = BENCH / "results"
SENDER = "991825827"
BODY_CHARS = 30_000
SIZE_SQL = """SELECT sum(pg_total_relation_size(oid))::bigint FROM pg_class
              WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'm')"""


def _text(chars: int) -> str:
    """Words of random letters (fixed seed): a body that compresses about as badly as prose does."""
    import random
    import string

    rng = random.Random(9)
    words = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9))))
    return " ".join(words)


TEXT = _text(BODY_CHARS)


def body(recipients: list[str], message_chars: int = BODY_CHARS, padding_bytes: int = 0) -> bytes:
    data = json.loads((ROOT / "examples" / "initialize.json").read_text(encoding="utf-8"))
    data["Recipients"] = recipients
    data["correspondence"]["content"]["messageBody"] = TEXT[:message_chars]
    if padding_bytes:  # properties no model knows: accepted, never stored
        chunk = "x" * 1000
        data["correspondence"]["unknownPadding"] = {f"k{i}": chunk for i in range(padding_bytes // 1000)}
    return json.dumps(data, ensure_ascii=False).encode()


def recipients(n: int, start: int = 800000000) -> list[str]:
    return [f"urn:altinn:organization:identifier-no:{start + i:09d}" for i in range(n)]


def token(data_dir: Path) -> str:
    from app.config import DEV_ISSUER
    from app.security.tokens import load_or_create_dev_key, mint_token

    key = load_or_create_dev_key(data_dir / "keys" / "dev-signing-key.pem")
    return mint_token(
        key, issuer=DEV_ISSUER, scopes=["altinn:correspondence.write"], org=SENDER, ttl_seconds=3600
    )


def seed(url: str) -> None:
    from app.db.pool import Database
    from app.db.repositories.registry import upsert_parties, upsert_resources
    from app.domain.registry import parse_registry_file

    registry = json.loads((ROOT / "app" / "demo" / "registry.json").read_text(encoding="utf-8"))
    resources, parties = parse_registry_file(registry)
    with Database(url, 2).transaction() as conn:
        upsert_resources(conn, resources)
        upsert_parties(conn, parties)


def storage(url: str, data_dir: Path) -> dict:
    import psycopg

    from app.config import Settings
    from app.web import create_app

    settings = Settings(
        database_url=url, redis_url=redis_url(), data_dir=data_dir, port=0, jwks_url=None, dev_keys=True
    )
    client = create_app(settings).test_client()
    headers = {"Authorization": f"Bearer {token(data_dir)}", "Content-Type": "application/json"}

    def grow(make_body, times: int) -> float:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
            before = conn.execute(SIZE_SQL).fetchone()[0]
            for i in range(times):
                resp = client.post(
                    "/correspondence/api/v1/correspondence", data=make_body(i), headers=headers
                )
                if resp.status_code != 200:
                    raise SystemExit(f"Initialize answered {resp.status_code}: {resp.get_data()[:300]!r}")
            after = conn.execute(SIZE_SQL).fetchone()[0]
        return (after - before) / times

    grow(lambda i: body(recipients(1, 700000000 + i)), 20)  # warm-up: first pages of every table
    one = grow(lambda i: body(recipients(1, 710000000 + i)), 100)
    many = grow(lambda i: body(recipients(500, 720000000 + 1000 * i)), 10)
    padded = grow(lambda i: body(recipients(1, 730000000 + i), padding_bytes=900_000), 100)
    return {
        "bytes_per_initialize_1": round(one),
        "bytes_per_initialize_500": round(many),
        "bytes_per_initialize_1_padded_900kb": round(padded),
        "per_extra_recipient_bytes": round((many - one) / 499),
        "target_bytes_500": round(one + 500 * 4096),
        "body_chars": BODY_CHARS,
    }


def end_to_end(
    url: str, data_dir: Path, workdir: Path, n_requests: int, per_request: int, clients: int
) -> dict:
    """(e): bench/million.py's run at this size (first request to the last order's own `created`),
    with the orders recorded per second over the whole run."""
    import million

    e = million.end_to_end(url, data_dir, workdir, n_requests, per_request, clients)
    e["orders_per_second"] = round(e["orders_recorded"] / e["seconds_to_last_order"])
    return e


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--recipients", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    admin = admin_database_url()
    workdir = Path(tempfile.mkdtemp(prefix="bench-thin-"))
    result: dict = {"command": " ".join([".venv/bin/python", "bench/thin_write.py", *sys.argv[1:]])}
    for part in ("s", "e"):
        url, name = scratch_database(admin)
        try:
            seed(url)
            data_dir = workdir / part
            if part == "s":
                print("(s) storage per Initialize ...", flush=True)
                result["s"] = storage(url, data_dir)
            else:
                print(f"(e) {args.requests} × {args.recipients} recipients end to end ...", flush=True)
                result["e"] = end_to_end(url, data_dir, workdir, args.requests, args.recipients, args.clients)
        finally:
            from app.db.pool import close_pools

            close_pools()
            drop_database(admin, name)
    s, e = result["s"], result["e"]
    met = "met" if s["bytes_per_initialize_500"] <= s["target_bytes_500"] else "**missed**"
    result["markdown"] = "\n".join(
        [
            "| measure | value | target |",
            "|---|---|---|",
            f"| (s) table growth per 1-recipient Initialize, {s['body_chars']:,}-character body | "
            f"{s['bytes_per_initialize_1'] / 1024:,.1f} KiB | |",
            "| (s) table growth per 500-recipient Initialize, same body | "
            f"{s['bytes_per_initialize_500'] / 1024:,.1f} KiB "
            f"({s['per_extra_recipient_bytes']:,} bytes per extra recipient) | ≤ 1-recipient + 500 × 4 KiB "
            f"= {s['target_bytes_500'] / 1024:,.0f} KiB: {met} |",
            f"| (s) table growth per 1-recipient Initialize with 900 KB of unknown properties | "
            f"{s['bytes_per_initialize_1_padded_900kb'] / 1024:,.1f} KiB | unknown properties cost nothing |",
            f"| (e) {e['requests']} × {e['recipients_per_request']} recipients ({e['orders_expected']:,} orders), "
            f"{e['clients']} clients: first request to last recorded order | {e['seconds_to_last_order']} s "
            f"(last answer at {e['seconds_to_last_answer']} s; {e['orders_per_second']:,} orders/s) | ≤ 30 s |",
        ]
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"thin-write-{stamp}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(result["markdown"])
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
