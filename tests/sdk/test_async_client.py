"""`AsyncClient`: the same resources, awaited, against the real cloud."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from autoprintfarm import AsyncClient, AsyncPage, NotFoundError, PrinterOfflineError
from autoprintfarm.resources import async_, async_org, sync, sync_org
from tests.sdk.cloud import CloudProcess, Org


async def test_printers_round_trip_and_pages(cloud: CloudProcess, org: Org) -> None:
    async with AsyncClient(api_key=org.api_key, base_url=cloud.base_url) as client:
        made = [
            await client.printers.create(
                name=f"a{i}", connection_url="http://10.2.0.1", api_key="k", group="g"
            )
            for i in range(5)
        ]
        page = await client.printers.list(group="g", per_page=2, sort="name")
        assert isinstance(page, AsyncPage)
        assert [p.id for p in page.data] == [m.id for m in made[:2]]
        assert [p.id async for p in page] == [m.id for m in made]
        assert [len(p.data) async for p in page.iter_pages()] == [2, 2, 1]

        got = await client.printers.get(made[0].id)
        assert got == made[0]
        renamed = await client.printers.update(made[0].id, name="renamed")
        assert renamed.name == "renamed"
        with pytest.raises(PrinterOfflineError):
            await client.printers.pause(made[0].id)
        await client.printers.delete(made[0].id)
        with pytest.raises(NotFoundError) as info:
            await client.printers.get(made[0].id)
        assert info.value.request_id


@pytest.mark.parametrize(("blocking", "awaited"), [(sync, async_), (sync_org, async_org)])
def test_sync_and_async_resources_offer_the_same_calls(blocking: Any, awaited: Any) -> None:
    classes = [
        (name, cls)
        for name, cls in inspect.getmembers(blocking, inspect.isclass)
        if cls.__module__ == blocking.__name__ and not name.startswith("_")
    ]
    assert len(classes) >= 4
    for name, cls in classes:
        twin = getattr(awaited, name)
        methods = {n for n, _ in inspect.getmembers(cls, inspect.isfunction) if n[0] != "_"}
        assert methods == {
            n for n, _ in inspect.getmembers(twin, inspect.isfunction) if n[0] != "_"
        }, name
        for method in methods:
            a = inspect.signature(getattr(cls, method)).parameters
            b = inspect.signature(getattr(twin, method)).parameters
            assert list(a) == list(b), f"{name}.{method}"
            assert [p.default for p in a.values()] == [p.default for p in b.values()]
            assert inspect.iscoroutinefunction(getattr(twin, method)), f"{name}.{method}"


def test_async_twins_are_generated_from_the_sync_resources() -> None:
    from tests.sdk.async_twins import expected

    for path, text in expected().items():
        assert path.read_text() == text, (
            f"{path.name} is stale: run python -m tests.sdk.async_twins"
        )


async def test_async_retry_rule_matches_the_blocking_one(limited_cloud: CloudProcess) -> None:
    import httpx

    from autoprintfarm import APIConnectionError, RateLimitError
    from tests.support.ports import free_port

    waits: list[float] = []

    async def record(delay_s: float) -> None:
        waits.append(delay_s)

    attempts: list[str] = []

    async def count(request: httpx.Request) -> None:
        attempts.append(request.method)

    http = httpx.AsyncClient(event_hooks={"request": [count]})
    refused = AsyncClient(
        api_key="apf_k", base_url=f"http://127.0.0.1:{free_port()}", http_client=http
    )
    refused._sleep = record
    with pytest.raises(APIConnectionError):
        await refused.printers.create(name="x", connection_url="http://10.1.1.1", api_key="k")
    assert attempts == ["POST"] * 3 and len(waits) == 2
    await http.aclose()

    org = await asyncio.to_thread(limited_cloud.create_org, "async-limited")
    waits.clear()
    async with AsyncClient(api_key=org.api_key, base_url=limited_cloud.base_url) as client:
        client._sleep = record
        for _ in range(3):
            await client.printers.list()
        with pytest.raises(RateLimitError) as info:
            await client.printers.list()
    assert len(waits) == 2 and all(0 < w <= 60 for w in waits)
    assert info.value.rate_limit is not None and info.value.rate_limit.remaining == 0
