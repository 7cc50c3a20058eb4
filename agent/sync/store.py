"""The agent's one SQLite database (aiosqlite, WAL): outbox, counters, command ledger, jobs.

Everything the agent must not forget across a crash lives here: the per-agent event
sequence and MQTT session counters, events not yet acknowledged by the broker, the
commands already executed (with their replies), the jobs in flight and the last desired
configuration from the cloud. One connection, one writer: statements of one transaction
are serialised by a lock so two coroutines never interleave inside BEGIN … COMMIT.

``synchronous=FULL`` because an event is "written durably before it is published": in WAL
mode NORMAL survives a process crash but can lose the last commits on power loss
(https://www.sqlite.org/pragma.html#pragma_synchronous), and a Pi's power is pulled.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType

import aiosqlite

log = logging.getLogger(__name__)

# A local disk answers in milliseconds; a stuck SD card must not hang the agent forever.
DB_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    qos INTEGER NOT NULL,
    payload BLOB NOT NULL,
    seq INTEGER,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, id);
CREATE TABLE IF NOT EXISTS commands (
    command_id TEXT PRIMARY KEY,
    printer_id TEXT NOT NULL,
    reply BLOB,
    received_at REAL NOT NULL,
    keep_until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    printer_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    driver_kind TEXT NOT NULL,
    started_at REAL NOT NULL,
    filament_mm REAL,
    detail TEXT NOT NULL DEFAULT '{}'
);
"""


class Store:
    """``async with Store(path) as store``: opens (and creates) the database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Store:
        # Private to the agent's user: the database holds the desired config (printer keys)
        # and the outbox. SQLite gives its -wal and -shm files the database file's mode.
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)
        async with asyncio.timeout(DB_TIMEOUT_S):
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            db = await aiosqlite.connect(self.path, isolation_level=None)
            try:
                await db.execute("PRAGMA journal_mode=WAL")
                await db.execute("PRAGMA synchronous=FULL")
                await db.execute("PRAGMA busy_timeout=5000")
                await db.executescript(_SCHEMA)
            except BaseException:
                await db.close()
                raise
        self._db = db
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        db, self._db = self._db, None
        if db is not None:
            await db.close()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the store is not open")
        return self._db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One atomic write: BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
        async with self._lock, asyncio.timeout(DB_TIMEOUT_S):
            db = self.db
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await asyncio.shield(db.execute("ROLLBACK"))
                raise
            await db.execute("COMMIT")

    async def read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        async with self._lock, asyncio.timeout(DB_TIMEOUT_S):
            rows = await self.db.execute_fetchall(sql, params)
        return [tuple(row) for row in rows]

    # --- counters and small values ---------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        rows = await self.read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self.transaction() as db:
            await set_meta_in(db, key, value)

    async def next_counter(self, key: str) -> int:
        """Increment a persisted counter and return its new value (1 the first time)."""
        async with self.transaction() as db:
            value = await next_counter_in(db, key)
        return value


async def set_meta_in(db: aiosqlite.Connection, key: str, value: str) -> None:
    await db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def get_meta_in(db: aiosqlite.Connection, key: str) -> str | None:
    rows = list(await db.execute_fetchall("SELECT value FROM meta WHERE key = ?", (key,)))
    return str(rows[0][0]) if rows else None


async def next_counter_in(db: aiosqlite.Connection, key: str) -> int:
    value = int(await get_meta_in(db, key) or 0) + 1
    await set_meta_in(db, key, str(value))
    return value
