"""A whole farm in the test's event loop: the cloud (API + bridge) on a free port, one real
agent, simulated printers on ptys, all through a real broker. Used by the end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agent.config import AgentConfig, MqttSettings
from agent.runtime.agent import Agent
from agent.sim import SimConfig, SimulatedPrinter
from agent.sim.config import Dialect
from apf.demo.runner import agent_mqtt_settings, free_port, serve_cloud
from tests.support.broker import TestBroker


@dataclass(frozen=True, slots=True)
class PrinterSpec:
    name: str
    dialect: Dialect
    material: str | None = None
    color: str | None = None
    remaining_g: float = 1000.0


@dataclass
class Farm:
    api: httpx.AsyncClient
    org_id: str
    agent_id: str
    printers: dict[str, str] = field(default_factory=dict)  # name -> printer id
    sims: dict[str, SimulatedPrinter] = field(default_factory=dict)  # printer id -> sim
    spools: dict[str, str] = field(default_factory=dict)  # printer id -> material id
    _agent_task: asyncio.Task[None] | None = None
    _agent_stop: asyncio.Event = field(default_factory=asyncio.Event)
    _agent_dir: Path | None = None
    _mqtt: MqttSettings | None = None

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.api.request(method, url, **kwargs)
        assert response.status_code < 300, f"{method} {url}: {response.status_code} {response.text}"
        return response.json()

    def start_agent(self) -> None:
        assert self._agent_dir is not None and self._mqtt is not None
        config = AgentConfig(
            agent_id=self.agent_id,
            org_id=self.org_id,
            data_dir=str(self._agent_dir),
            mqtt=self._mqtt,
        )
        self._agent_task = asyncio.create_task(Agent(config).run(self._agent_stop), name="agent")

    async def stop_agent(self) -> None:
        self._agent_stop.set()
        if self._agent_task is not None:
            await asyncio.wait_for(self._agent_task, 20)

    async def wait_for(self, check: Any, timeout_s: float = 60.0, what: str = "") -> Any:
        """Poll an async condition with a deadline; returns its truthy result."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            result = await check()
            if result:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what or check}")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_farm(
    broker: TestBroker,
    workdir: Path,
    specs: list[PrinterSpec],
    *,
    database_url: str = "",
    sim_baud: int | None = 250_000,
    start_agent: bool = True,
) -> AsyncIterator[Farm]:
    port = free_port()
    async with (
        serve_cloud(
            workdir, port, broker.url, broker.agent_port, database_url=database_url
        ) as cloud,
        httpx.AsyncClient(
            base_url=cloud.base_url,
            timeout=30,
            headers={"Authorization": f"Bearer {cloud.api_key}"},
        ) as api,
        contextlib.AsyncExitStack() as stack,
    ):
        registered = (await api.post("/v1/agents", json={"name": "e2e-agent"})).json()
        org_id = (await api.get("/v1/organization")).json()["id"]
        farm = Farm(
            api=api,
            org_id=org_id,
            agent_id=registered["agent"]["id"],
            _agent_dir=workdir / "agent",
            _mqtt=agent_mqtt_settings(registered),
        )
        for spec in specs:
            sim = await stack.enter_async_context(
                SimulatedPrinter(
                    SimConfig(dialect=spec.dialect, baud=sim_baud, heat_rate_c_per_s=200.0)
                )
            )
            printer = await farm.json(
                "POST",
                "/v1/printers",
                json={
                    "name": spec.name,
                    "agent_id": farm.agent_id,
                    "connection_url": f"serial://{sim.pty_path}?profile={spec.dialect}",
                },
            )
            farm.printers[spec.name] = printer["id"]
            farm.sims[printer["id"]] = sim
            if spec.material is not None:
                spool = await farm.json(
                    "POST",
                    "/v1/materials",
                    json={
                        "type": spec.material,
                        "color": spec.color,
                        "spool_weight": 1000,
                        "remaining_weight": spec.remaining_g,
                        "cost_per_kg": 25.0,
                        "printer_id": printer["id"],
                    },
                )
                farm.spools[printer["id"]] = spool["id"]
        if start_agent:
            farm.start_agent()
        try:
            yield farm
        finally:
            with contextlib.suppress(Exception):
                await farm.stop_agent()
