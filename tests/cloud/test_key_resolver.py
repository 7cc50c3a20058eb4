"""`KeyResolver`: requests that miss the cache together share one lookup; `forget` wins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import event, update

from cloud.db.models import ApiKey
from cloud.db.types import utcnow
from cloud.orchestration.db import writing
from cloud.problems import Problem
from cloud.services.auth import KeyResolver
from tests.cloud.conftest import Api


@pytest.fixture
def key_lookups(api: Api) -> Iterator[list[str]]:
    """Statements that read the api_keys table, as the database receives them."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "api_keys" in statement:
            seen.append(statement)

    ctx = api.app.state["ctx"]
    engines = [ctx.engine.sync_engine, *([ctx.reader.engine] if ctx.reader else [])]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
async def resolver(api: Api) -> AsyncIterator[KeyResolver]:
    """A fresh resolver (empty cache) reading the way the app's does; its last-use stamps
    are waited for before the app's engine goes."""
    ctx = api.app.state["ctx"]
    fresh = KeyResolver(ctx.sessions, ctx.write_lock, ctx.reader)
    yield fresh
    await fresh.drain()


async def test_concurrent_misses_share_one_lookup(
    api: Api, key_lookups: list[str], resolver: KeyResolver
) -> None:
    org = await api.new_org()
    header = f"Bearer {org.api_key}"
    principals = await asyncio.gather(*(resolver.resolve(header) for _ in range(20)))
    assert {p.org_id for p in principals} == {org.org_id}
    assert len(key_lookups) == 1
    await resolver.resolve(header)  # cached
    assert len(key_lookups) == 1


async def test_forget_makes_the_next_request_look_again(
    api: Api, key_lookups: list[str], resolver: KeyResolver
) -> None:
    org = await api.new_org()
    ctx = api.app.state["ctx"]
    header = f"Bearer {org.api_key}"
    await resolver.resolve(header)
    async with writing(ctx) as session:
        await session.execute(update(ApiKey).values(revoked_at=utcnow()))
        await session.commit()
    await resolver.resolve(header)  # still cached: revoked elsewhere, within the TTL
    resolver.forget()
    with pytest.raises(Problem):
        await resolver.resolve(header)
    assert len(key_lookups) == 2


async def test_use_is_recorded_off_the_request_path(api: Api, resolver: KeyResolver) -> None:
    org = await api.new_org()
    ctx = api.app.state["ctx"]
    await resolver.resolve(f"Bearer {org.api_key}")
    await resolver.drain()
    async with ctx.sessions() as session:
        key = await session.get(ApiKey, org.key_id)
    assert key is not None and key.last_used_at is not None
