"""A pooled PostgreSQL connection that died while idle is replaced before a request uses it."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cloud.db.engine import ping_idle_connections
from cloud.settings import database_url_for

pytestmark = pytest.mark.postgres

PID = text("SELECT pg_backend_pid()")


async def _pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(PID)).scalar_one())


async def _kill_pooled_connection(engine: AsyncEngine, url: str) -> int:
    """The pool's one connection, returned to the pool and then cut by the server (as a
    PostgreSQL restart or a proxy's idle cut-off would)."""
    pid = await _pid(engine)
    admin = await asyncpg.connect(url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    return pid


@pytest.mark.parametrize("idle_s", [0.0, 3600.0])
async def test_a_connection_killed_while_idle_is_replaced_only_when_pinged(
    postgres_from_template: str, idle_s: float
) -> None:
    engine = create_async_engine(
        database_url_for(postgres_from_template, "."), pool_size=1, max_overflow=0
    )
    ping_idle_connections(engine.sync_engine, idle_s=idle_s)
    try:
        dead = await _kill_pooled_connection(engine, postgres_from_template)
        if idle_s == 0.0:
            assert await _pid(engine) != dead  # pinged, found gone, replaced
        else:
            # Back a moment ago, so not pinged: the request that draws it fails. This is
            # what the ping spares (and the pool then replaces the connection).
            with pytest.raises(exc.DBAPIError):
                await _pid(engine)
            assert await _pid(engine) != dead
    finally:
        await engine.dispose()
