"""One psycopg connection pool per process, opened lazily (safe across gunicorn/celery forks)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

_lock = threading.Lock()
_pools: dict[tuple[int, str], ConnectionPool[psycopg.Connection[DictRow]]] = {}


class DatabaseUnavailable(Exception):
    """The database could not be reached; the API answers 503."""


def get_pool(url: str, max_size: int = 10) -> ConnectionPool[psycopg.Connection[DictRow]]:
    key = (os.getpid(), url)
    pool = _pools.get(key)
    if pool is None:
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = ConnectionPool(
                    url,
                    connection_class=psycopg.Connection[DictRow],  # the typed spelling of the default class
                    min_size=1,
                    max_size=max_size,
                    kwargs={"row_factory": dict_row, "autocommit": False},
                    timeout=10,
                    open=True,
                    name="correspondence",
                )
                _pools[key] = pool
    return pool


def close_pools() -> None:
    with _lock:
        for key, pool in list(_pools.items()):
            if key[0] == os.getpid():
                pool.close()
            _pools.pop(key, None)


class Transactions(Protocol):
    """What the use cases need of a database: `Database`, or the outbox relay's own connection."""

    def transaction(self) -> AbstractContextManager[psycopg.Connection[DictRow]]: ...


class Database:
    """Hands out transactions on the pooled connections of one database."""

    def __init__(self, url: str, max_size: int = 10) -> None:
        self.url = url
        self.max_size = max_size

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[DictRow]]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with self._connection() as conn, conn.transaction():
            yield conn

    @contextmanager
    def statements(self) -> Iterator[psycopg.Connection[DictRow]]:
        """A connection in autocommit: each statement is its own transaction, with no BEGIN and
        COMMIT round trips. For work whose writes are one statement (e.g. a plain Initialize)."""
        with self._connection() as conn:
            conn.autocommit = True
            try:
                yield conn
            finally:
                if not conn.closed:
                    conn.autocommit = False  # back to the pool as every other caller expects it

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        try:
            pool = get_pool(self.url, self.max_size)
            conn_cm = pool.connection()
            conn = conn_cm.__enter__()
        except (psycopg.OperationalError, TimeoutError, Exception) as exc:  # pool timeout included
            if isinstance(exc, (psycopg.OperationalError,)) or exc.__class__.__name__ == "PoolTimeout":
                raise DatabaseUnavailable(str(exc)) from exc
            raise
        try:
            yield conn
        except psycopg.OperationalError as exc:
            conn_cm.__exit__(type(exc), exc, exc.__traceback__)
            raise DatabaseUnavailable(str(exc)) from exc
        except BaseException as exc:
            conn_cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        else:
            conn_cm.__exit__(None, None, None)
