"""A rate limiter whose counters live in the database, shared by every process and replica.

One row per key: `(key, window_ends_at, hits)`. Counting is one statement,

    INSERT … VALUES (key, now + window, n), … ON CONFLICT (key) DO UPDATE SET
        hits           = CASE WHEN window_ends_at <= now THEN excluded.hits
                              ELSE hits + excluded.hits END,
        window_ends_at = CASE WHEN window_ends_at <= now THEN excluded.window_ends_at
                              ELSE window_ends_at END
    RETURNING key, hits, window_ends_at

which both PostgreSQL (row lock on the conflicting row) and SQLite (one writer at a time)
execute atomically, so concurrent hits from any number of engines are counted exactly once
each. Both CASEs read the old row: in an UPDATE's SET list every column reference means the
value before the update (PostgreSQL and SQLite alike). `n` is the number of this process's
hits on the key gathered into one transaction (group commit, see `SqlRateLimiter`).

Time is the application's wall clock (`time.time`), so replicas should run NTP; a skew of a
second shifts a window's end by that second, nothing worse. Rows whose window has ended are
deleted at most every `cleanup_interval_s` by each limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from cloud.db.writer import WriteLock
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
# Hits waiting for the next transaction, at most: past it the store is plainly too slow.
DEFAULT_MAX_PENDING: Final = 10_000
# Rows in one multi-row upsert: 3 bound values each, well under SQLite's 32,766 limit.
_ROWS_PER_STATEMENT: Final = 500

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


@dataclass(slots=True)
class _PendingHit:
    key: str
    window_s: float
    now: float
    #: (hits counted so far in the window, window end, the time the batch ran)
    future: asyncio.Future[tuple[int, float, float]]


class SqlRateLimiter:
    """Counters in `rate_limit_windows`, on PostgreSQL or SQLite.

    Group commit: hits that arrive while a transaction is in flight wait for the next one,
    which counts all of them (one row per key, in one statement) and commits once. A commit
    costs a disk flush (milliseconds on SQLite), so one transaction per hit would cap a
    process at a few hundred hits/s and stack waiting hits on SQLite's busy handler; batched,
    the cost is shared. A dedicated task (`ratelimit-flush`) runs the batches, so a caller
    that gives up (cancelled, timed out) never strands the others.

    Raises RateLimiterUnavailableError when the database does not answer within `timeout_s`,
    fails, or `max_pending` hits are already waiting; the API middleware decides what a
    request gets then. `aclose()` (or `async with`) stops the flush task.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], float] = time.time,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cleanup_interval_s: float = DEFAULT_CLEANUP_INTERVAL_S,
        max_pending: int = DEFAULT_MAX_PENDING,
        write_lock: WriteLock | None = None,
    ) -> None:
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"SqlRateLimiter supports PostgreSQL and SQLite, not {dialect}")
        self._engine = engine
        # The process's SQLite write lock (cloud/db/writer.py), taken after the connection
        # as a request takes it; none when the limiter is the process's only writer.
        self._write_lock = write_lock or WriteLock(enabled=False)
        self._dialect = dialect
        self._clock = clock
        self._timeout_s = timeout_s
        self._cleanup_interval_s = cleanup_interval_s
        self._next_cleanup_at = clock() + cleanup_interval_s
        self._max_pending = max_pending
        self._pending: list[_PendingHit] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the flush task; hits still waiting fail as unavailable."""
        self._closed = True
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        check_hit_arguments(key, limit, window_s)
        if self._closed:
            raise RuntimeError("SqlRateLimiter used after aclose()")
        if len(self._pending) >= self._max_pending:
            raise RateLimiterUnavailableError("too many rate-limit checks are waiting")
        now = self._clock()
        pending = _PendingHit(key, window_s, now, asyncio.get_running_loop().create_future())
        self._pending.append(pending)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="ratelimit-flush")
        try:
            async with asyncio.timeout(self._timeout_s):
                hits, window_ends_at, counted_at = await pending.future
        except TimeoutError as exc:
            raise RateLimiterUnavailableError("the rate-limit store did not answer") from exc
        return decide(
            hits=hits, limit=limit, window_ends_at=window_ends_at, now=counted_at,
            window_s=window_s,
        )  # fmt: skip

    async def delete_ended(self) -> int:
        """Delete every row whose window has ended; returns how many went."""
        return await self._delete_ended(self._clock())

    async def _flush(self) -> None:
        batch: list[_PendingHit] = []
        try:
            while self._pending:
                now = self._clock()
                if now >= self._next_cleanup_at:
                    # Before the batch, so the batch's callers see a clean table.
                    self._next_cleanup_at = now + self._cleanup_interval_s
                    await self._cleanup(now)
                batch, self._pending = self._pending, []
                await self._run_batch(batch)
                batch = []
        finally:
            # Only reached with hits left over when this task is cancelled (aclose).
            for pending in [*batch, *self._pending]:
                _fail(pending, RateLimiterUnavailableError("the rate limiter was closed"))

    async def _run_batch(self, batch: list[_PendingHit]) -> None:
        # One row per key, counting all of its hits in this batch; keys in sorted order so two
        # replicas' batches lock rows in the same order and cannot deadlock (PostgreSQL).
        by_key: dict[str, list[_PendingHit]] = {}
        for pending in batch:
            by_key.setdefault(pending.key, []).append(pending)
        keys = sorted(by_key)
        now = self._clock()
        totals: dict[str, tuple[int, float]] = {}
        try:
            async with (
                asyncio.timeout(self._timeout_s),
                self._engine.connect() as conn,
                self._write_lock.held(),
                conn.begin(),  # committed before the lock is let go
            ):
                for start in range(0, len(keys), _ROWS_PER_STATEMENT):
                    rows = [
                        {"key": key, "window_ends_at": now + by_key[key][0].window_s,
                         "hits": len(by_key[key])}
                        for key in keys[start : start + _ROWS_PER_STATEMENT]
                    ]  # fmt: skip
                    result = await conn.execute(_upsert_statement(self._dialect, rows, now))
                    for key, hits, window_ends_at in result:
                        totals[key] = (int(hits), float(window_ends_at))
        except (TimeoutError, SQLAlchemyError, OSError) as exc:
            logger.warning("rate-limit store unavailable: %s", exc)
            for pending in batch:
                _fail(pending, RateLimiterUnavailableError("the rate-limit store did not answer"))
            return
        for key, hits_of_key in by_key.items():
            total, window_ends_at = totals[key]
            # The batch's hits on this key were counted in arrival order: total-n+1 … total.
            first = total - len(hits_of_key) + 1
            for offset, pending in enumerate(hits_of_key):
                if not pending.future.done():  # its caller may have given up meanwhile
                    pending.future.set_result((first + offset, window_ends_at, now))

    async def _cleanup(self, now: float) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._delete_ended(now)
        except (TimeoutError, SQLAlchemyError, OSError) as exc:
            logger.warning("could not delete ended rate-limit windows: %s", exc)

    async def _delete_ended(self, now: float) -> int:
        table = rate_limit_windows
        async with self._engine.connect() as conn, self._write_lock.held(), conn.begin():
            result = await conn.execute(table.delete().where(table.c.window_ends_at <= now))
        deleted = int(result.rowcount or 0)
        logger.debug("deleted %d ended rate-limit windows", deleted)
        return deleted


def _fail(pending: _PendingHit, error: Exception) -> None:
    if not pending.future.done():
        pending.future.set_exception(error)
        # The caller may be gone (timed out); mark the exception as seen so asyncio does not
        # log "exception was never retrieved" for it.
        pending.future.exception()


def _upsert_statement(dialect: str, rows: list[dict[str, object]], now: float) -> sa.Executable:
    """The hit statement of the module docstring for several keys at once: each row adds its
    `hits` to its key's open window, or opens a new window with them."""
    table = rate_limit_windows
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = insert(table).values(rows)
    ended = table.c.window_ends_at <= now
    return values.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "hits": sa.case(
                (ended, values.excluded.hits), else_=table.c.hits + values.excluded.hits
            ),
            "window_ends_at": sa.case(
                (ended, values.excluded.window_ends_at), else_=table.c.window_ends_at
            ),
        },
    ).returning(table.c.key, table.c.hits, table.c.window_ends_at)
