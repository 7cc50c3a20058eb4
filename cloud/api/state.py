"""What the app holds for its lifetime, built by `create_app` and kept in `app.state`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.services.auth import KeyResolver
from cloud.settings import Settings


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
