"""A rate limiter whose counters live in the database, shared by every process and replica.

One row per key: `(key, window_ends_at, hits)`. A hit is a single statement,

    INSERT … VALUES (key, now + window, 1)
    ON CONFLICT (key) DO UPDATE SET
        hits           = CASE WHEN window_ends_at <= now THEN 1 ELSE hits + 1 END,
        window_ends_at = CASE WHEN window_ends_at <= now THEN excluded.window_ends_at
                              ELSE window_ends_at END
    RETURNING hits, window_ends_at

which both PostgreSQL (row lock on the conflicting row) and SQLite (one writer at a time)
execute atomically, so concurrent hits from any number of engines are counted exactly once
each. Both CASEs read the old row: in an UPDATE's SET list every column reference means the
value before the update (PostgreSQL and SQLite alike).

Time is the application's wall clock (`time.time`), so replicas should run NTP; a skew of a
second shifts a window's end by that second, nothing worse. Rows whose window has ended are
deleted at most every `cleanup_interval_s` by each limiter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from cloud.ratelimit.base import (
    MAX_KEY_CHARS,
    RateDecision,
    RateLimiterUnavailableError,
    check_hit_arguments,
    decide,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S: Final = 5.0
DEFAULT_CLEANUP_INTERVAL_S: Final = 60.0

# On SQLModel's metadata so the cloud's Alembic migrations (which target that metadata) see
# it; the migration that creates it is the cloud's, `create_table` is for tests and tools.
rate_limit_windows = sa.Table(
    "rate_limit_windows",
    SQLModel.metadata,
    sa.Column("key", sa.String(MAX_KEY_CHARS), primary_key=True),
    sa.Column("window_ends_at", sa.Double(), nullable=False),
    sa.Column("hits", sa.Integer(), nullable=False),
    sa.Index("ix_rate_limit_windows_window_ends_at", "window_ends_at"),
)


async def create_table(engine: AsyncEngine) -> None:
    """Create the counters table if it is missing (production uses the Alembic migration)."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync_conn: rate_limit_windows.create(sync_conn, checkfirst=True))


class SqlRateLimiter:
    """Counters in `rate_limit_windows`, on PostgreSQL or SQLite.

    Raises RateLimiterUnavailableError when the database does not answer within `timeout_s`
    or fails; the API middleware decides what a request gets then.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], float] = time.time,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cleanup_interval_s: float = DEFAULT_CLEANUP_INTERVAL_S,
    ) -> None:
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"SqlRateLimiter supports PostgreSQL and SQLite, not {dialect}")
        self._engine = engine
        self._dialect = dialect
        self._clock = clock
        self._timeout_s = timeout_s
        self._cleanup_interval_s = cleanup_interval_s
        self._next_cleanup_at = clock() + cleanup_interval_s

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        check_hit_arguments(key, limit, window_s)
        now = self._clock()
        statement = self._upsert(key, now, window_s)
        try:
            async with asyncio.timeout(self._timeout_s):
                async with self._engine.begin() as conn:
                    hits, window_ends_at = (await conn.execute(statement)).one()
                if now >= self._next_cleanup_at:
                    self._next_cleanup_at = now + self._cleanup_interval_s
                    await self._delete_ended(now)
        except (TimeoutError, SQLAlchemyError, OSError) as exc:
            logger.warning("rate-limit store unavailable: %s", exc)
            raise RateLimiterUnavailableError("the rate-limit store did not answer") from exc
        return decide(
            hits=int(hits), limit=limit, window_ends_at=float(window_ends_at), now=now,
            window_s=window_s,
        )  # fmt: skip

    async def delete_ended(self) -> int:
        """Delete every row whose window has ended; returns how many went."""
        return await self._delete_ended(self._clock())

    async def _delete_ended(self, now: float) -> int:
        table = rate_limit_windows
        async with self._engine.begin() as conn:
            result = await conn.execute(table.delete().where(table.c.window_ends_at <= now))
        deleted = int(result.rowcount or 0)
        logger.debug("deleted %d ended rate-limit windows", deleted)
        return deleted

    def _upsert(self, key: str, now: float, window_s: float) -> sa.Executable:
        table = rate_limit_windows
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        values = insert(table).values(key=key, window_ends_at=now + window_s, hits=1)
        ended = table.c.window_ends_at <= now
        return values.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "hits": sa.case((ended, 1), else_=table.c.hits + 1),
                "window_ends_at": sa.case(
                    (ended, values.excluded.window_ends_at), else_=table.c.window_ends_at
                ),
            },
        ).returning(table.c.hits, table.c.window_ends_at)
