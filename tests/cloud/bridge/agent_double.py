"""A scripted stand-in for an agent that speaks the real wire contract over a real broker.

The bridge tests use it to drive the cloud side message by message (including duplicates,
stale Wills and malformed payloads); the end-to-end tests use the real agent instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import aiomqtt

from shared import wire
from shared.enums import AgentState, PrinterStatus
from tests.support.broker import TestBroker


def now() -> datetime:
    return datetime.now(UTC)


class AgentDouble:
    def __init__(self, client: aiomqtt.Client, org_id: str, agent_id: str) -> None:
        self.client = client
        self.org_id = org_id
        self.agent_id = agent_id
        self.seq = 0
        self.commands: asyncio.Queue[wire.Command] = asyncio.Queue()
        self.configs: asyncio.Queue[wire.DesiredConfig] = asyncio.Queue()

    async def status(self, state: AgentState, session: int) -> None:
        message = wire.AgentStatus(state=state, session=session, agent_version="test", ts=now())
        await self.client.publish(
            wire.status_topic(self.org_id, self.agent_id), wire.encode(message), qos=1, retain=True
        )

    async def state(
        self,
        printer_id: str,
        status: PrinterStatus,
        *,
        job_id: str | None = None,
        progress: float = 0.0,
        connected: bool = True,
        materials: Sequence[wire.LoadedMaterial] = (),
    ) -> None:
        job = (
            None
            if job_id is None
            else wire.JobState(job_id=job_id, progress=progress, elapsed_s=1.0)
        )
        message = wire.PrinterState(
            printer_id=printer_id,
            status=status,
            connected=connected,
            ts=now(),
            firmware="Marlin 2.1.2",
            job=job,
            temperatures=wire.Temperatures(hotend=210.0, bed=60.0),
            materials=list(materials),
        )
        await self.client.publish(
            wire.printer_state_topic(self.org_id, self.agent_id, printer_id),
            wire.encode(message),
            qos=1,
            retain=True,
        )

    async def telemetry(self, printer_id: str, job_id: str, progress: float) -> None:
        message = wire.Telemetry(
            printer_id=printer_id,
            ts=now(),
            temperatures=wire.Temperatures(hotend=215.5, bed=61.0),
            job=wire.JobState(job_id=job_id, progress=progress, elapsed_s=12.0),
        )
        await self.client.publish(
            wire.telemetry_topic(self.org_id, self.agent_id, printer_id),
            wire.encode(message),
            qos=0,
        )

    def next_event(self, cls: Any, printer_id: str, **fields: Any) -> Any:
        self.seq += 1
        return cls(
            event_id=uuid.uuid4().hex, seq=self.seq, ts=now(), printer_id=printer_id, **fields
        )

    async def send_event(self, event: wire.Event) -> None:
        await self.client.publish(
            wire.events_topic(self.org_id, self.agent_id), wire.encode(event), qos=1
        )

    async def reply(
        self,
        command_id: str,
        printer_id: str,
        *,
        ok: bool = True,
        error: Any = None,
        message: str | None = None,
    ) -> None:
        reply = wire.CommandReply(
            command_id=command_id,
            ok=ok,
            ts=now(),
            printer_id=printer_id,
            error=error,
            message=message,
        )
        await self.client.publish(
            wire.replies_topic(self.org_id, self.agent_id), wire.encode(reply), qos=1
        )

    async def next_command(self, timeout_s: float = 15) -> wire.Command:
        return await asyncio.wait_for(self.commands.get(), timeout_s)

    async def next_config(self, timeout_s: float = 15) -> wire.DesiredConfig:
        return await asyncio.wait_for(self.configs.get(), timeout_s)

    async def _pump(self) -> None:
        async for message in self.client.messages:
            payload = (
                bytes(message.payload) if isinstance(message.payload, bytes | bytearray) else b""
            )
            kind = wire.parse_topic(message.topic.value).kind
            if kind is wire.TopicKind.COMMANDS:
                await self.commands.put(wire.decode_command(payload))
            elif kind is wire.TopicKind.CONFIG:
                await self.configs.put(wire.decode_config(payload))


@contextlib.asynccontextmanager
async def agent_double(
    broker: TestBroker, org_id: str, agent_id: str
) -> AsyncIterator[AgentDouble]:
    async with aiomqtt.Client(
        **broker.client_kwargs(), identifier=f"double-{org_id}-{agent_id}"[:64]
    ) as client:
        await client.subscribe(wire.commands_topic(org_id, agent_id), qos=1)
        await client.subscribe(wire.config_topic(org_id, agent_id), qos=1)
        double = AgentDouble(client, org_id, agent_id)
        pump = asyncio.create_task(double._pump(), name="agent-double-pump")
        try:
            yield double
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await pump
