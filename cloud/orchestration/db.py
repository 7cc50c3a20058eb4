"""A write transaction for background work, queued on the app's SQLite write lock.

SQLite allows one writer at a time; request handlers already queue on `AppContext.
write_lock` (None on PostgreSQL) instead of spinning in SQLite's busy handler, and the
bridge's writers join the same queue.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.api.state import AppContext


@contextlib.asynccontextmanager
async def writing(app: AppContext) -> AsyncIterator[AsyncSession]:
    lock = app.write_lock
    if lock is not None:
        await lock.acquire()
    try:
        # The background pool: never competes with requests that wait for this lock while
        # holding a connection of the request pool.
        async with app.background()() as session:
            yield session
    finally:
        if lock is not None:
            lock.release()
