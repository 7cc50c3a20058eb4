"""One writer at a time on SQLite, queued in the process instead of in SQLite's busy handler.

SQLite allows one write transaction at a time. Writers left to its busy handler wait in
sleeps of up to 100 ms (sqlite.org/c3ref/busy_timeout.html) and, under load, fail past the
busy timeout ("database is locked"). So every write transaction of this process — request
handlers, the bridge, the queue, webhook delivery, idempotency claims — takes this lock
first and holds it until its commit. On PostgreSQL the lock is off: rows are locked there.

The order is always the same, connection first and the lock second, so a holder of the lock
never waits for a connection that a waiter for the lock holds (two pools make that true for
the background workers: cloud.app.build_context).

A write that reaches SQLite without the lock (an autoflush before `begin_write`, a bare
`execute(update(...))`) holds SQLite's own write lock while it waits for this one; the
holder of this one then waits in SQLite's busy handler, and one of the two fails after the
busy timeout (10 s). `guard_unlocked_writes` catches such a write as it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import greenlet  # type: ignore[import-untyped]  # SQLAlchemy asyncio's own dependency
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_PROJECT = str(Path(__file__).resolve().parents[2])


def _origin() -> str:
    """The innermost frames of this project that led to the write. SQLAlchemy sends the
    statement from a greenlet of its own; the coroutines that awaited it are suspended in
    the parent greenlet."""
    parent = greenlet.getcurrent().parent
    frame = parent.gr_frame if parent is not None else None
    ours: list[str] = []
    while frame is not None and len(ours) < 4:
        filename = frame.f_code.co_filename
        if filename.startswith(_PROJECT) and "site-packages" not in filename:
            ours.append(f"{Path(filename).name}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(ours) or "outside the project"


class UnlockedWriteError(RuntimeError):
    """A write was sent to SQLite by a task that does not hold the write lock."""


class WriteLock:
    def __init__(self, *, enabled: bool) -> None:
        self._lock = asyncio.Lock() if enabled else None
        self._owner: asyncio.Task[Any] | None = None

    @property
    def enabled(self) -> bool:
        return self._lock is not None

    async def acquire(self) -> None:
        if self._lock is not None:
            await self._lock.acquire()
            self._owner = asyncio.current_task()

    def release(self) -> None:
        if self._lock is not None:
            self._owner = None
            self._lock.release()

    def held_here(self) -> bool:
        """True when the running task holds the lock (or there is no lock to hold)."""
        if self._lock is None:
            return True
        return self._lock.locked() and self._owner is asyncio.current_task()

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


def guard_unlocked_writes(
    engine: AsyncEngine, lock: WriteLock, *, on_unlocked: Literal["log", "raise"]
) -> None:
    """Check every write ``engine`` sends: one sent without ``lock`` is logged once per
    statement (with where it came from), or refused with `UnlockedWriteError` (the test
    suite's setting, so that it names every such path)."""
    if not lock.enabled:
        return
    logged: set[str] = set()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _check(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        if not statement.lstrip()[:7].upper().startswith(_WRITES) or lock.held_here():
            return
        what = " ".join(statement.split()[:4])
        problem = f"{what}... sent to SQLite without the cloud's write lock, from {_origin()}"
        if on_unlocked == "raise":
            raise UnlockedWriteError(problem)
        if what not in logged:
            logged.add(what)
            log.warning(
                "%s: it can wait 10 s for another writer (said once per statement)", problem
            )
