"""The ceiling for a thin endpoint: bare Flask + psycopg, one INSERT of the request JSON.

    gunicorn bare_app:app --chdir bench ...   (BARE_DATABASE_URL: a database with table bench_bare)

Run by bench/service.py under the same gunicorn settings as the service (the Procfile's web line).
"""

from __future__ import annotations

import os
import threading

from flask import Flask, request
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

TABLE = """CREATE TABLE IF NOT EXISTS bench_bare (
    id bigserial PRIMARY KEY, created timestamptz NOT NULL DEFAULT now(), body jsonb NOT NULL)"""

app = Flask(__name__)
_lock = threading.Lock()
_pool: ConnectionPool | None = None


def pool() -> ConnectionPool:
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:  # one pool per (forked) worker process
                _pool = ConnectionPool(os.environ["BARE_DATABASE_URL"], min_size=1, max_size=10, open=True)
    return _pool


@app.post("/insert")
def insert():
    body = request.get_json()
    with pool().connection() as conn:
        conn.execute("INSERT INTO bench_bare (body) VALUES (%s)", (Jsonb(body),))
    return {"stored": True}


@app.get("/ping")
def ping():
    return {"ok": True}
