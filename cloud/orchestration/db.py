"""A write transaction for background work, queued on the app's SQLite write lock.

SQLite allows one writer at a time; request handlers already queue on `CloudContext.
write_lock` (None on PostgreSQL) instead of spinning in SQLite's busy handler, and the
bridge's writers join the same queue.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.context import CloudContext


@contextlib.asynccontextmanager
async def writing(app: CloudContext) -> AsyncIterator[AsyncSession]:
    async with app.write_lock.held(), app.background()() as session:
        # The background pool: never competes with requests that wait for this lock while
        # holding a connection of the request pool.
        yield session
