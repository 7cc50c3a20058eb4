"""List queries on SQLite, run on the event loop's own thread.

aiosqlite runs every cursor operation as its own hop to a worker thread, and even one hop
per page (to the default executor) was slow under load: sqlite3 releases and retakes the GIL
for every row it steps, and a worker thread retaking it from a busy event loop waits up to
the interpreter's switch interval (5 ms) each time. With 50 clients a 100-row page cost
~3 ms of server time, most of it waiting (py-spy on bench/api.py).

A page query is an indexed, bounded read (at most 100 rows, well under a millisecond), so it
runs inline on one plain sqlite3 connection held by the reader: no hop, no GIL hand-off.
WAL mode lets it read beside the writer without waiting (sqlite.org/wal.html). The inline
connection waits at most `INLINE_BUSY_MS` for a lock (WAL readers rarely wait at all, e.g.
while another process recovers the WAL); past that the query is retried in a worker thread
on a pooled connection with the full timeout, so the event loop never stalls on a lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from cloud.db.engine import sqlite_pragmas

T = TypeVar("T")

INLINE_BUSY_MS = 20


class SqliteReader:
    def __init__(self, async_url: str, *, pool_size: int, timeout_s: float) -> None:
        url = make_url(async_url).set(drivername="sqlite+pysqlite")
        self._timeout_s = timeout_s
        self._engine: Engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=timeout_s,
            # Connections move between executor threads; each is used by one at a time.
            connect_args={"check_same_thread": False, "timeout": timeout_s},
        )
        event.listen(self._engine, "connect", sqlite_pragmas)
        self._inline: Connection | None = None
        self._inline_dbapi: Any = None

    @property
    def engine(self) -> Engine:
        return self._engine

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """`fn(connection)` inline; in a worker thread if the database is locked."""
        try:
            return self._run_inline(fn)
        except exc.OperationalError as error:
            if not _is_busy(error):
                raise
        return await asyncio.wait_for(asyncio.to_thread(self._run, fn), self._timeout_s)

    def data_version(self) -> int:
        """SQLite's `PRAGMA data_version` on the inline connection: it changes whenever any
        other connection, in this process or another, commits (sqlite.org/pragma.html)."""
        conn = self._inline
        if conn is None or conn.closed or self._inline_dbapi is None:
            self._inline_connection()
        assert self._inline_dbapi is not None  # set with the inline connection
        row = self._inline_dbapi.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def _inline_connection(self) -> Connection:
        conn = self._inline
        if conn is None or conn.closed:
            conn = self._inline = self._engine.connect()
            conn.exec_driver_sql(f"PRAGMA busy_timeout={INLINE_BUSY_MS}")
            conn.rollback()  # the PRAGMA began no transaction worth keeping open
            # The driver's own connection, for `data_version` (asked on every cached page).
            self._inline_dbapi = conn.connection.dbapi_connection
        return conn

    def _run_inline(self, fn: Callable[[Connection], T]) -> T:
        conn = self._inline_connection()
        try:
            return fn(conn)
        finally:
            # Reads only: ends any transaction so the next page sees the latest commit.
            conn.rollback()

    def _run(self, fn: Callable[[Connection], T]) -> T:
        with self._engine.connect() as conn:
            return fn(conn)

    def dispose(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
            self._inline_dbapi = None
        self._engine.dispose()


def _is_busy(error: exc.OperationalError) -> bool:
    orig = error.orig
    return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)
