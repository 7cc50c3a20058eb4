"""PostgreSQL's visible state as a value, read fresh for each request: the page cache's version.

`pg_current_snapshot()` (PostgreSQL 13+, postgresql.org/docs/current/functions-info.html)
names which transactions a query started now would see: `xmin:xmax:xip` (every transaction
below xmax and not listed in xip is settled). Two equal snapshots see exactly the same rows;
any commit visible to one and not the other makes them differ (it leaves xip, or it had
its id assigned after the first, which raised xmax). A snapshot never comes back once
changed: xmax only grows and, for a given xmax, xip only shrinks. So it plays the part
SQLite's `PRAGMA data_version` plays (cloud/api/page_cache.py), and it is exact across every
replica on the same server. It changes more often than strictly needed (a transaction of any
database on the server that takes an id raises xmax), never less. Read-only transactions
take no id, so reading never changes it.

A lookup must see every commit made before its request arrived, so its read must start
after that. Fifty clients would be fifty round trips; instead, reads are coalesced: at most
one read is under way, and a caller that arrives while one runs waits for the next, which
starts as soon as the running one ends and serves every caller that arrived meanwhile.

The reads use one connection of their own, outside the pool: a hit never waits for a pool
connection. A failed read answers None (the page is built, never served from a guess) and
the connection is opened again at the next read.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

_SNAPSHOT = "SELECT pg_current_snapshot()::text"


class SnapshotVersion:
    def __init__(self, database_url: str, *, timeout_s: float) -> None:
        self._dsn = _asyncpg_dsn(database_url)
        self._timeout_s = timeout_s
        self._conn: Any = None
        self._running: asyncio.Future[str | None] | None = None
        self._next: asyncio.Future[str | None] | None = None
        self._driver: asyncio.Task[None] | None = None
        self.reads = 0  # round trips made (the tests count them: coalescing at work)

    async def current(self) -> str | None:
        """The snapshot as of a moment after this call began; None if it could not be read."""
        loop = asyncio.get_running_loop()
        if self._running is None:
            self._running = waiting = loop.create_future()
            self._driver = loop.create_task(self._drive(waiting))
        else:
            # The read under way may have started before this caller arrived: take the next.
            if self._next is None:
                self._next = loop.create_future()
            waiting = self._next
        # Shielded: a caller that goes away must not cancel a read others wait for.
        return await asyncio.shield(waiting)

    async def _drive(self, first: asyncio.Future[str | None]) -> None:
        batch: asyncio.Future[str | None] | None = first
        while batch is not None:
            value = await self._read()
            if not batch.done():
                batch.set_result(value)
            batch, self._next = self._next, None
            self._running = batch

    async def _read(self) -> str | None:
        self.reads += 1
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self._dsn, timeout=self._timeout_s)
            value = await self._conn.fetchval(_SNAPSHOT, timeout=self._timeout_s)
            return str(value)
        except (TimeoutError, OSError, asyncpg.PostgresError) as error:
            logger.warning("could not read the database snapshot; pages built afresh: %s", error)
            await self._drop_connection()
            return None

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def close(self) -> None:
        if self._driver is not None and not self._driver.done():
            self._driver.cancel()
            await asyncio.gather(self._driver, return_exceptions=True)
        for waiting in (self._running, self._next):
            if waiting is not None and not waiting.done():
                waiting.set_result(None)  # nobody is left waiting for a read that never comes
        self._running = self._next = None
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close(timeout=self._timeout_s)


def _asyncpg_dsn(database_url: str) -> str:
    """`postgresql+asyncpg://…` (SQLAlchemy's form) as the plain URL asyncpg connects to."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
