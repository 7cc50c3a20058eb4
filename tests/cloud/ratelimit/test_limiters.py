"""Both limiters against one behaviour contract; the SQL one on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cloud.ratelimit import (
    MemoryRateLimiter,
    RateLimiter,
    RateLimiterUnavailableError,
    SqlRateLimiter,
    create_table,
    rate_limit_windows,
)
from tests.support.ports import free_port


class Clock:
    """Time under the test's control, so no window can end by accident mid-test."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


MakeLimiter = Callable[[Clock], Awaitable[RateLimiter]]


def asyncpg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


@pytest.fixture
async def engines() -> AsyncIterator[list[AsyncEngine]]:
    made: list[AsyncEngine] = []
    yield made
    for engine in made:
        await engine.dispose()


def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite in the test's folder, or a fresh PostgreSQL database (skipped without one)."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'limits.sqlite3'}"
    return asyncpg_url(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    # A sync fixture: postgres_url creates its database outside the test's event loop.
    return None if request.param == "memory" else database_url(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request.param, request, tmp_path)


@pytest.fixture
async def make_limiter(backend_url: str | None, engines: list[AsyncEngine]) -> MakeLimiter:
    if backend_url is None:

        async def memory(clock: Clock) -> RateLimiter:
            return MemoryRateLimiter(clock=clock)

        return memory
    engine = create_async_engine(backend_url)
    engines.append(engine)
    await create_table(engine)

    async def sql(clock: Clock) -> RateLimiter:
        return SqlRateLimiter(engine, clock=clock)

    return sql


async def test_allows_up_to_the_limit_then_refuses_until_the_window_ends(
    make_limiter: MakeLimiter,
) -> None:
    clock = Clock()
    limiter = await make_limiter(clock)
    decisions = [await limiter.hit("key:a", 3, 60) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, True]
    assert [d.remaining for d in decisions] == [2, 1, 0]
    assert all(d.retry_after_s == 0 and d.limit == 3 and d.window_s == 60 for d in decisions)

    clock.now += 20
    refused = await limiter.hit("key:a", 3, 60)
    assert not refused.allowed
    assert refused.remaining == 0
    assert refused.reset_s == pytest.approx(40)
    assert refused.retry_after_s == pytest.approx(40)

    other = await limiter.hit("key:b", 3, 60)  # another key has its own window
    assert other.allowed and other.remaining == 2

    clock.now += 40  # the window opened at the first hit ends now
    fresh = await limiter.hit("key:a", 3, 60)
    assert fresh.allowed
    assert fresh.remaining == 2
    assert fresh.reset_s == pytest.approx(60)


async def test_arguments_are_checked(make_limiter: MakeLimiter) -> None:
    limiter = await make_limiter(Clock())
    with pytest.raises(ValueError, match="limit"):
        await limiter.hit("k", 0, 60)
    with pytest.raises(ValueError, match="window_s"):
        await limiter.hit("k", 1, 0)
    with pytest.raises(ValueError, match="keys"):
        await limiter.hit("k" * 256, 1, 60)


async def test_two_engines_sharing_a_database_never_allow_more_than_the_limit(
    shared_url: str, engines: list[AsyncEngine]
) -> None:
    # Two limiters on two engines (two pools, as two worker processes or replicas would have)
    # hit the same keys concurrently: the total allowed per key is exactly the limit.
    first, second = create_async_engine(shared_url), create_async_engine(shared_url)
    engines.extend((first, second))
    await create_table(first)
    clock = Clock()
    limiters = [SqlRateLimiter(first, clock=clock), SqlRateLimiter(second, clock=clock)]
    limit, hits_per_limiter = 25, 30

    async def hammer(limiter: SqlRateLimiter, key: str) -> list[bool]:
        async def one() -> bool:
            return (await limiter.hit(key, limit, 60)).allowed

        return list(await asyncio.gather(*(one() for _ in range(hits_per_limiter))))

    async with asyncio.timeout(60):
        results = await asyncio.gather(
            *(hammer(limiter, key) for limiter in limiters for key in ("key:x", "key:y"))
        )
    allowed_x = sum(sum(results[i]) for i in (0, 2))
    allowed_y = sum(sum(results[i]) for i in (1, 3))
    assert (allowed_x, allowed_y) == (limit, limit)
    async with first.connect() as conn:
        rows = (await conn.execute(rate_limit_windows.select())).all()
    assert sorted((row.key, row.hits) for row in rows) == [
        ("key:x", 2 * hits_per_limiter),
        ("key:y", 2 * hits_per_limiter),
    ]


async def test_ended_windows_are_cleaned_up(tmp_path: Path, engines: list[AsyncEngine]) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'c.sqlite3'}")
    engines.append(engine)
    await create_table(engine)
    clock = Clock()
    limiter = SqlRateLimiter(engine, clock=clock, cleanup_interval_s=30)
    await limiter.hit("key:short", 5, 10)
    await limiter.hit("key:long", 5, 3600)
    clock.now += 31  # key:short's window has ended; the next hit also runs the cleanup
    await limiter.hit("key:other", 5, 60)
    async with engine.connect() as conn:
        keys = sorted(row.key for row in (await conn.execute(rate_limit_windows.select())).all())
    assert keys == ["key:long", "key:other"]


async def test_an_unreachable_database_is_reported_not_crashed() -> None:
    # Nothing listens on this loopback port, so every connection attempt is refused.
    port = free_port()
    engine = create_async_engine(f"postgresql+asyncpg://apf@127.0.0.1:{port}/none")
    try:
        async with SqlRateLimiter(engine, timeout_s=5) as limiter:
            with pytest.raises(RateLimiterUnavailableError):
                await limiter.hit("key:a", 5, 60)
    finally:
        await engine.dispose()


async def test_a_locked_database_is_reported_as_unavailable(
    tmp_path: Path, engines: list[AsyncEngine]
) -> None:
    # SQLite's busy timeout (the `timeout` connect argument) is what bounds a hit on a locked
    # file: the asyncio timeout cannot interrupt a sqlite3 call waiting in its thread.
    url = f"sqlite+aiosqlite:///{tmp_path / 'locked.sqlite3'}"
    holder = create_async_engine(url)
    engine = create_async_engine(url, connect_args={"timeout": 0.2})
    engines.extend((holder, engine))
    await create_table(holder)
    limiter = SqlRateLimiter(engine)
    async with holder.connect() as conn:
        await conn.exec_driver_sql("BEGIN EXCLUSIVE")
        with pytest.raises(RateLimiterUnavailableError):
            await limiter.hit("key:a", 5, 60)
        await conn.exec_driver_sql("ROLLBACK")
    # Once the lock is gone the limiter works again.
    assert (await limiter.hit("key:a", 5, 60)).allowed


def test_memory_limiter_stays_bounded() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock, max_keys=100, sweep_interval_s=10)

    async def run() -> None:
        for i in range(250):
            await limiter.hit(f"key:{i}", 5, 5)
        assert len(limiter) == 100  # the oldest keys were dropped to stay within max_keys
        clock.now += 11  # all windows ended; the next hit sweeps them
        await limiter.hit("key:new", 5, 5)
        assert len(limiter) == 1

    asyncio.run(run())


async def test_one_batch_hands_out_each_count_once(
    tmp_path: Path, engines: list[AsyncEngine]
) -> None:
    # Concurrent hits from one process share a transaction: each still gets its own place.
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'b.sqlite3'}")
    engines.append(engine)
    await create_table(engine)
    async with SqlRateLimiter(engine, clock=Clock()) as limiter:
        decisions = await asyncio.gather(*(limiter.hit("key:a", 5, 60) for _ in range(12)))
        others = await asyncio.gather(*(limiter.hit(f"key:{i}", 5, 60) for i in range(3)))
    assert sorted(d.remaining for d in decisions) == [0] * 8 + [1, 2, 3, 4]
    assert sum(d.allowed for d in decisions) == 5
    assert all(d.allowed and d.remaining == 4 for d in others)


async def test_a_caller_giving_up_does_not_strand_the_others(
    tmp_path: Path, engines: list[AsyncEngine]
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'g.sqlite3'}")
    engines.append(engine)
    await create_table(engine)
    async with SqlRateLimiter(engine, clock=Clock()) as limiter:
        tasks = [asyncio.create_task(limiter.hit("key:a", 100, 60)) for _ in range(10)]
        tasks[0].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(results[0], asyncio.CancelledError)
        assert all(not isinstance(r, BaseException) and r.allowed for r in results[1:])
        # The abandoned hit may or may not have been counted; the limiter still works.
        after = await limiter.hit("key:a", 100, 60)
    assert after.allowed and after.remaining in (89, 90)


async def test_too_many_waiting_hits_are_refused_as_unavailable(
    tmp_path: Path, engines: list[AsyncEngine]
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}")
    engines.append(engine)
    await create_table(engine)
    async with SqlRateLimiter(engine, clock=Clock(), max_pending=3) as limiter:
        results = await asyncio.gather(
            *(limiter.hit("key:a", 100, 60) for _ in range(5)), return_exceptions=True
        )
    refused = [r for r in results if isinstance(r, RateLimiterUnavailableError)]
    assert len(refused) == 2
    with pytest.raises(RuntimeError, match="aclose"):
        await limiter.hit("key:a", 100, 60)
