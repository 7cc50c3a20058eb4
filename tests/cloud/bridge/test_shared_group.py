"""Replicas in a shared-subscription group: one that is gone takes no share of the messages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cloud.bridge.service import Bridge, BridgeSettings
from shared.enums import AgentState, PrinterStatus
from tests.cloud.bridge.agent_double import agent_double
from tests.cloud.bridge.test_bridge import eventually
from tests.cloud.conftest import OrgClient
from tests.support.broker import TestBroker

PRINTERS = 8


@contextlib.asynccontextmanager
async def replica(owner: OrgClient, broker: TestBroker, client_id: str) -> AsyncIterator[Bridge]:
    ctx = owner.api.app.state["ctx"]
    settings = BridgeSettings(mqtt_url=broker.url, client_id=client_id, shared_group="cloud")
    bridge = Bridge(ctx, settings)
    task = asyncio.create_task(bridge.run(), name=client_id)
    try:
        await bridge.link.wait_connected(10)
        yield bridge
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_replica_gone_from_the_group_strands_none_of_the_agents_messages(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    if not mqtt_broker.supports_shared_subscriptions:
        pytest.skip(f"{mqtt_broker.kind} has no shared subscriptions")
    r = await owner.post("/v1/agents", json={"name": "pi"})
    agent_id = r.json()["agent"]["id"]
    printers = []
    for i in range(PRINTERS):
        r = await owner.post(
            "/v1/printers",
            json={"name": f"p{i}", "agent_id": agent_id, "connection_url": f"serial:///dev/p{i}"},
        )
        assert r.status_code == 201, r.text
        printers.append(r.json()["id"])
    # A replica joins the group and goes away for good (killed, scaled down, or restarted
    # under another client id). Had it kept a persistent session, the broker would go on
    # giving it its turn: every other message below would wait for it forever.
    async with replica(owner, mqtt_broker, "replica-gone"):
        pass
    async with (
        replica(owner, mqtt_broker, "replica-left"),
        agent_double(mqtt_broker, owner.org.org_id, agent_id) as agent,
    ):
        await agent.status(AgentState.ONLINE, session=1)
        for printer_id in printers:
            await agent.state(printer_id, PrinterStatus.IDLE)

        async def all_idle() -> bool:
            page: list[dict[str, Any]] = (await owner.get("/v1/printers")).json()["data"]
            idle: int = sum(p["status"] == "idle" for p in page)
            return idle == PRINTERS

        await eventually(all_idle)
