"""Fixtures for webhook tests: a receiver, a fast retry policy, a worker on the test database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select

from cloud.orchestration.db import writing
from cloud.services.events import record_event
from cloud.webhooks.config import WebhookConfig
from cloud.webhooks.schedule import RetryPolicy
from cloud.webhooks.tables import WebhookAttempt, WebhookDelivery
from cloud.webhooks.worker import WebhookWorker
from shared.enums import EventType
from tests.cloud.conftest import Api, OrgClient
from tests.cloud.webhooks.receiver import WebhookReceiver

POLL_S = 0.02


def fast_config(delays_s: tuple[float, ...] = (0.05, 0.05, 0.05), **kw: Any) -> WebhookConfig:
    """Millisecond retries and polls, loopback allowed (the receiver is on 127.0.0.1)."""
    settings: dict[str, Any] = {
        "poll_interval_s": POLL_S,
        "request_timeout_s": 5.0,
        "shutdown_timeout_s": 5.0,
        "allow_private_urls": True,
        **kw,
    }
    return WebhookConfig(retry=RetryPolicy(delays_s=delays_s, jitter=0.0), **settings)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as server:
        yield server


WorkerFactory = Callable[..., Any]


@pytest.fixture
def run_worker(api: Api) -> WorkerFactory:
    """`async with run_worker(config) as worker:` a worker on the app's database."""

    @asynccontextmanager
    async def run(config: WebhookConfig | None = None) -> AsyncIterator[WebhookWorker]:
        ctx = api.app.state["ctx"]
        async with WebhookWorker(
            ctx.sessions, config or fast_config(), box=ctx.secrets, write_lock=ctx.write_lock
        ) as w:
            yield w

    return run


async def create_hook(owner: OrgClient, url: str, events: list[str], **body: Any) -> dict[str, Any]:
    response = await owner.post("/v1/webhooks", json={"url": url, "events": events, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def emit(api: Api, org_id: str, event_type: EventType, resource_id: str = "res_1") -> str:
    """Append to the event log as the services do (payload: the resource under its kind)."""
    kind = event_type.value.split(".", 1)[0]
    async with writing(api.app.state["ctx"]) as session:
        event = record_event(
            session, org_id, event_type, resource_id, {kind: {"id": resource_id, "kind": kind}}
        )
        await session.commit()
        return event.id


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0, what: str = "condition"
) -> None:
    """Re-check a database condition until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(POLL_S)  # polling interval of a deadline-bounded wait


async def deliveries_of(api: Api, webhook_id: str) -> list[Any]:
    async with api.app.state["ctx"].sessions() as session:
        rows = await session.execute(
            select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)  # type: ignore[arg-type]
        )
        return list(rows.scalars())


async def attempts_of(api: Api, webhook_id: str) -> list[Any]:
    async with api.app.state["ctx"].sessions() as session:
        rows = await session.execute(
            select(WebhookAttempt).where(WebhookAttempt.webhook_id == webhook_id)  # type: ignore[arg-type]
        )
        return list(rows.scalars())
