"""One connection to SQLite or PostgreSQL behind the same four calls, safe across threads.

Statements are written once with ``?`` placeholders (converted to ``%s`` for psycopg2) and the
few type names that differ are ``{serial}``, ``{bigint}`` and ``{real}`` (see :meth:`ddl`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from config.errors import RunFailed
from config.settings import StoreSettings

Dialect = Literal["sqlite", "postgres"]
#: a PostgreSQL connection idle this long is checked (one round trip) before it is used again
_PING_AFTER_S = 5.0
#: how long a statement waits for another process's SQLite write lock before "database is locked"
BUSY_TIMEOUT_S = 10.0
_TYPES: dict[str, dict[str, str]] = {
    "sqlite": {"serial": "INTEGER PRIMARY KEY", "bigint": "INTEGER", "real": "REAL"},
    "postgres": {"serial": "BIGSERIAL PRIMARY KEY", "bigint": "BIGINT", "real": "DOUBLE PRECISION"},
}


class Transaction:
    """Statements run inside one transaction (see :meth:`Database.transaction`)."""

    def __init__(self, db: Database, cursor: Any) -> None:
        self._db = db
        self._cur = cursor

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._cur.execute(self._db.placeholders(sql), tuple(params))
        return self._cur

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self.run(sql, params).fetchone()
        return tuple(row) if row is not None else None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.run(sql, params).fetchall()]


class Database:
    """A DB-API connection, its dialect and a lock (sqlite3 and psycopg2 both allow threads,
    but one transaction at a time per connection)."""

    def __init__(self, dialect: Dialect, connect: Any) -> None:
        self.dialect: Dialect = dialect
        self._connect = connect
        self._conn = connect()
        self._lock = threading.RLock()
        self._used_at = time.monotonic()

    @property
    def failures(self) -> tuple[type[Exception], ...]:
        """What a statement raises when the database fails it (locked, gone, full, damaged); a
        PostgreSQL reconnect that fails raises the store's one-line error (a RunFailed)."""
        if self.dialect == "postgres":
            import psycopg2

            return (psycopg2.Error, RunFailed)
        return (sqlite3.Error,)

    def placeholders(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgres" else sql

    def ddl(self, sql: str) -> str:
        """``sql`` with ``{serial}``, ``{bigint}`` and ``{real}`` in this dialect."""
        return sql.format(**_TYPES[self.dialect])

    def _live(self) -> Any:
        """The connection; on PostgreSQL one the server dropped (a restart, a failover, an idle
        timeout) is replaced first, so the next answer or vote is not the one that finds out."""
        if self.dialect != "postgres":
            return self._conn
        if not self._conn.closed and time.monotonic() - self._used_at > _PING_AFTER_S:
            import psycopg2

            try:
                with self._conn.cursor() as cur:
                    cur.execute("SELECT 1")
                self._conn.rollback()
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self._conn.close()
        if self._conn.closed:
            self._conn = self._connect()
        self._used_at = time.monotonic()
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            conn = self._live()
            cur = conn.cursor()
            try:
                if self.dialect == "sqlite":
                    cur.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlocks
                yield Transaction(self, cur)
                conn.commit()
            except BaseException:
                if not getattr(conn, "closed", False):  # a dropped connection has nothing to undo
                    conn.rollback()
                raise
            finally:
                cur.close()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self.transaction() as tx:
            return tx.one(sql, params)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as tx:
            return tx.rows(sql, params)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _sqlite(path: Path | str) -> Any:
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        _use_wal(conn)
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """WAL, so readers in other bot processes don't block writers. Switching the journal mode
    needs a moment alone with the file and SQLite's busy timeout does not cover it, so processes
    starting together retry (the mode is stored in the file: once one has set it, it is set)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def open_database(store: StoreSettings, sqlite_path: Path | str) -> Database:
    """The state database: ``sqlite_path``, or the index's PostgreSQL on backend postgres."""
    if store.backend == "postgres":
        from retrieval.pgstore import connect

        return Database("postgres", lambda: connect(store))
    return Database("sqlite", lambda: _sqlite(sqlite_path))
