"""Running a real `Agent` in the test's event loop, against the test's broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from agent.config import AgentConfig, LocalPrinter, MqttSettings, SerialSettings
from agent.runtime.agent import Agent

ORG = "org_t"


def agent_config(
    broker_url: str,
    data_dir: Path,
    *,
    agent_id: str = "agt_t",
    printers: list[LocalPrinter] | None = None,
    heartbeat_s: float = 60.0,
) -> AgentConfig:
    return AgentConfig(
        agent_id=agent_id,
        org_id=ORG,
        data_dir=str(data_dir),
        mqtt=MqttSettings(url=broker_url),
        printers=printers or [],
        heartbeat_s=heartbeat_s,
        log_level="DEBUG",
    )


def serial_printer(printer_id: str, port: str, baud: int | None = None) -> LocalPrinter:
    return LocalPrinter(
        printer_id=printer_id,
        name=f"printer {printer_id}",
        connection=SerialSettings(port=port, baud=baud, profile="auto"),
    )


@contextlib.asynccontextmanager
async def running_agent(config: AgentConfig, *, connected: bool = True) -> AsyncIterator[Agent]:
    agent = Agent(config)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        async with asyncio.timeout(20):
            ready = asyncio.ensure_future(agent.ready.wait())
            await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()  # start-up failed: raise its error here
            if connected:
                await agent.link.connected.wait()
        yield agent
    finally:
        stop.set()
        try:
            async with asyncio.timeout(30):
                await task
        except BaseException:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise
