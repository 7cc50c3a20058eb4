"""The request engine's connection pool, as the pool gauges of this process.

Every worker process has its own pool; a scrape is answered by one of them, so each worker
writes its own figures (multiprocess mode sums the live ones, cloud.metrics.series). They
are sampled once a second while the app runs, and again by the process answering a scrape,
rather than counted at every checkout: one write a second instead of two per query, and no
reasoning about which pool events fire for an invalidated connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.metrics.multiproc import mark_dead
from cloud.metrics.series import DB_POOL_CHECKED_OUT, DB_POOL_SIZE

log = logging.getLogger(__name__)

SAMPLE_EVERY_S: Final = 1.0


def sample_pool(engine: AsyncEngine) -> None:
    """Write this process's pool figures. A pool without them (SQLite in memory: one static
    connection) leaves the gauges as they are."""
    pool = engine.sync_engine.pool
    size = getattr(pool, "size", None)
    checked_out = getattr(pool, "checkedout", None)
    if callable(size) and callable(checked_out):
        DB_POOL_SIZE.set(size())
        DB_POOL_CHECKED_OUT.set(checked_out())


def pool_metrics_lifespan(engine: AsyncEngine) -> Callable[[Any], Any]:
    """A Litestar `lifespan` entry: samples the pool while the app runs; at shutdown this
    process's live gauges are dropped from the shared figures (its pool is gone)."""

    @contextlib.asynccontextmanager
    async def run(_app: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(_sample_forever(engine), name="metrics-pool-sampler")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            mark_dead(os.getpid())

    return run


async def _sample_forever(engine: AsyncEngine) -> None:
    while True:
        try:
            sample_pool(engine)
        except Exception:  # a sampling bug must not end the app's lifespan
            log.exception("sampling the database pool for metrics failed")
        await asyncio.sleep(SAMPLE_EVERY_S)  # the sampling period
