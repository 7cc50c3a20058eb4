"""What the app holds for its lifetime, built by `create_app` and kept in `app.state`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.api.page_cache import PageCache
from cloud.db.reader import SqliteReader
from cloud.sealing import SecretBox
from cloud.services.auth import KeyResolver
from cloud.settings import Settings


def _no_bridge(reason: str) -> None:
    return None


async def no_broker_sync(timeout_s: float) -> bool:
    return False


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
    # Seals and opens the secrets kept at rest (cloud/sealing.py).
    secrets: SecretBox | None = None
    # One writer at a time on SQLite (see ServiceContext.write_lock); None on PostgreSQL.
    write_lock: asyncio.Lock | None = None
    reader: SqliteReader | None = None
    # SQLite only: list pages kept while the database is unchanged (cloud/api/page_cache.py).
    page_cache: PageCache | None = None
    # Tells the bridge something may let the queue or commands progress (a job created, a
    # printer or spool changed, an action recorded). A no-op where no bridge runs.
    kick: Callable[[str], None] = _no_bridge
    bridge_running: bool = False
    # Brings the broker's logins in line with the database now (cloud.mqttauth.provisioner);
    # True when that pass ended within the time given. False where no bridge runs.
    broker_sync: Callable[[float], Awaitable[bool]] = no_broker_sync
    # The pool of background workers (see cloud.app.build_context); None: share `sessions`.
    background_engine: AsyncEngine | None = None
    background_sessions: async_sessionmaker[AsyncSession] | None = None

    def background(self) -> async_sessionmaker[AsyncSession]:
        return self.background_sessions or self.sessions
