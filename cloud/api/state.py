"""What the app holds for its lifetime, built by `create_app` and kept in `app.state`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.api.page_cache import PageCache
from cloud.db.reader import SqliteReader
from cloud.services.auth import KeyResolver
from cloud.settings import Settings


def _no_bridge(reason: str) -> None:
    return None


@dataclass(slots=True)
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keys: KeyResolver
    # cloud.files.GcodeStore and cloud.ratelimit.RateLimiter (typed loosely: optional parts).
    store: Any = None
    limiter: Any = None
    signing_key: bytes = b""
    # One writer at a time on SQLite (see ServiceContext.write_lock); None on PostgreSQL.
    write_lock: asyncio.Lock | None = None
    reader: SqliteReader | None = None
    # SQLite only: list pages kept while the database is unchanged (cloud/api/page_cache.py).
    page_cache: PageCache | None = None
    # Tells the bridge something may let the queue or commands progress (a job created, a
    # printer or spool changed, an action recorded). A no-op where no bridge runs.
    kick: Callable[[str], None] = _no_bridge
    bridge_running: bool = False
    # The pool of background workers (see cloud.app.build_context); None: share `sessions`.
    background_engine: AsyncEngine | None = None
    background_sessions: async_sessionmaker[AsyncSession] | None = None

    def background(self) -> async_sessionmaker[AsyncSession]:
        return self.background_sessions or self.sessions
