"""One writer at a time on SQLite, queued in the process instead of in SQLite's busy handler.

SQLite allows one write transaction at a time. Writers left to its busy handler wait in
sleeps of up to 100 ms (sqlite.org/c3ref/busy_timeout.html) and, under load, fail past the
busy timeout ("database is locked"). So every write transaction of this process — request
handlers, the bridge, the queue, webhook delivery, idempotency claims — takes this lock
first and holds it until its commit. On PostgreSQL the lock is off: rows are locked there.

The order is always the same, connection first and the lock second, so a holder of the lock
never waits for a connection that a waiter for the lock holds (two pools make that true for
the background workers: cloud.app.build_context).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class WriteLock:
    def __init__(self, *, enabled: bool) -> None:
        self._lock = asyncio.Lock() if enabled else None

    @property
    def enabled(self) -> bool:
        return self._lock is not None

    async def acquire(self) -> None:
        if self._lock is not None:
            await self._lock.acquire()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()
