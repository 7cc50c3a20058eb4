"""The async engine and session factory for SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from cloud.db.private import FILE_MODE, private_dir, private_file

# A pooled PostgreSQL connection idle this long is pinged before use (`ping_idle_connections`).
PING_AFTER_IDLE_S = 1.0


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run while one writer commits; busy_timeout makes a second writer wait
    # instead of failing at once with "database is locked" (sqlite.org/wal.html, pragma.html).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str, *, pool_size: int = 10, timeout_s: float = 30.0) -> AsyncEngine:
    """An engine for `url`; for SQLite the file's folder is created and WAL is switched on.

    Statement parameters are left out of error messages (`hide_parameters`): a failed write
    would otherwise put the values it wrote, secrets among them, into the log."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            database = Path(parsed.database)
            private_dir(database.parent)
            private_file(database)
            # SQLite gives its -wal and -shm files the database file's mode; an earlier
            # version's may still be 0644.
            for extra in (Path(f"{database}-wal"), Path(f"{database}-shm")):
                if extra.exists():
                    os.chmod(extra, FILE_MODE)
        engine = create_async_engine(
            url,
            connect_args={"timeout": timeout_s},
            pool_size=pool_size,
            max_overflow=0,
            hide_parameters=True,
        )
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        # No connections beyond the pool: under load each extra one was opened, used once
        # and closed again (asyncpg's setup each time): POST /v1/jobs in bench/api.py did
        # ~575 req/s with `pool_size` more allowed, ~850 with none. Requests wait for one
        # of `pool_size` instead (db_pool_size, APF_DB_POOL_SIZE).
        max_overflow=0,
        pool_timeout=timeout_s,
        # A failed statement's error must not carry its values into the log (sealed secrets,
        # webhook secrets, hashes).
        hide_parameters=True,
        # asyncpg: bound every statement so a stuck query cannot hold a request forever.
        connect_args={"timeout": timeout_s, "command_timeout": timeout_s},
    )
    ping_idle_connections(engine.sync_engine)
    return engine


def ping_idle_connections(engine: Engine, idle_s: float = PING_AFTER_IDLE_S) -> None:
    """Check a pooled connection before handing it out if it sat idle `idle_s` or more.

    A connection can die while pooled (PostgreSQL restarted, a proxy's idle cut-off); the
    request that drew it would fail. SQLAlchemy's `pool_pre_ping` pings at every checkout:
    one more round trip per transaction, ~7 % of the API's CPU on POST /v1/jobs under load
    (bench/api.py, py-spy). Under load a connection comes back within milliseconds, when a
    dead one would have failed the statement before it anyway; only one that sat idle is
    worth the ping. A failed ping raises `DisconnectionError`, on which the pool drops the
    connection and draws another (docs.sqlalchemy.org, "Disconnect Handling - Pessimistic",
    custom checkout handlers)."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _drawn(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_s:
            return  # new, or back from a transaction a moment ago
        try:
            ok = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"pooled connection is gone: {error}") from error
        if not ok:
            raise exc.DisconnectionError("pooled connection is gone")


@contextlib.asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection in autocommit: each statement commits (or only reads) on its own,
    with no BEGIN and COMMIT or ROLLBACK round trips, and sees the latest commit."""
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
