"""List queries on SQLite in one worker-thread hop.

aiosqlite runs every cursor operation (execute, fetch, close, rollback) as its own hop to its
thread; under load each hop waits for the GIL, and a list page (query + count + session
reset) spent ~10 ms per request just handing work over (measured with cProfile:
`SimpleQueue.put_nowait` dominated, bench/api.py). Read-only list queries instead run
start to finish on a plain sqlite3 connection in the default executor: one hop per page.
WAL mode lets these readers run beside the writer (sqlite.org/wal.html).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from cloud.db.engine import sqlite_pragmas

T = TypeVar("T")


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

    async def run(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.wait_for(asyncio.to_thread(self._run, fn), self._timeout_s)

    def _run(self, fn: Callable[[Connection], T]) -> T:
        with self._engine.connect() as conn:
            return fn(conn)

    def dispose(self) -> None:
        self._engine.dispose()
