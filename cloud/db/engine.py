"""The async engine and session factory for SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from cloud.db.private import FILE_MODE, private_dir, private_file


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
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=timeout_s,
        pool_pre_ping=True,
        # A failed statement's error must not carry its values into the log (sealed secrets,
        # webhook secrets, hashes).
        hide_parameters=True,
        # asyncpg: bound every statement so a stuck query cannot hold a request forever.
        connect_args={"timeout": timeout_s, "command_timeout": timeout_s},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
