"""A real MQTT client standing in for the cloud in agent tests.

It subscribes to the agent's whole subtree with a persistent session (so QoS 1 messages
published while it was away are queued by the broker), reconnects by itself when a test
restarts the broker, records every message, and lets a test wait for a condition on what
arrived (never a sleep).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import aiomqtt

from shared.broker_url import parse_broker_url
from shared.wire import (
    CommandReply,
    Event,
    HomeAxes,
    RawGcode,
    agent_root,
    commands_topic,
    config_topic,
    decode_event,
    decode_reply,
    encode,
)


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool


class CloudStandIn:
    def __init__(self, broker_url: str, org_id: str, agent_id: str) -> None:
        self.address = parse_broker_url(broker_url)
        self.org_id = org_id
        self.agent_id = agent_id
        self.root = agent_root(org_id, agent_id)
        self.messages: list[Received] = []
        self._changed = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client_id = f"cloud-{uuid.uuid4().hex[:8]}"

    async def __aenter__(self) -> CloudStandIn:
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(15):
            await self.connected.wait()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    self.address.host,
                    self.address.port,
                    username=self.address.username,
                    password=self.address.password,
                    identifier=self._client_id,
                    clean_session=False,
                    timeout=5,
                ) as client:
                    await client.subscribe(f"{self.root}/#", qos=1)
                    self._client = client
                    self.connected.set()
                    async for message in client.messages:
                        payload = message.payload
                        data = payload if isinstance(payload, bytes) else str(payload).encode()
                        self.messages.append(Received(str(message.topic), data, message.retain))
                        self._changed.set()
            except aiomqtt.MqttError:
                pass
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(0.2)  # reconnect pause while the test restarts the broker

    async def wait_for(self, predicate: Callable[[], Any], timeout_s: float = 20.0) -> Any:
        """Wait until `predicate()` returns something truthy; return it."""
        async with asyncio.timeout(timeout_s):
            while True:
                self._changed.clear()
                result = predicate()
                if result:
                    return result
                await self._changed.wait()

    def on(self, suffix: str) -> list[Received]:
        return [m for m in self.messages if m.topic == f"{self.root}/{suffix}"]

    def events(self) -> list[Event]:
        return [decode_event(m.payload) for m in self.on("events")]

    def unique_events(self) -> list[Event]:
        seen: set[str] = set()
        out = []
        for event in self.events():
            if event.event_id not in seen:
                seen.add(event.event_id)
                out.append(event)
        return out

    def replies(self, command_id: str | None = None) -> list[CommandReply]:
        replies = [decode_reply(m.payload) for m in self.on("replies")]
        return [r for r in replies if command_id is None or r.command_id == command_id]

    async def wait_reply(self, command_id: str, timeout_s: float = 20.0) -> CommandReply:
        replies = await self.wait_for(lambda: self.replies(command_id), timeout_s)
        reply: CommandReply = replies[0]
        return reply

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        async with asyncio.timeout(15):
            await self.connected.wait()
        assert self._client is not None
        await self._client.publish(topic, payload, qos=1, retain=retain, timeout=10)

    async def command(self, command: Any) -> None:
        await self.publish(commands_topic(self.org_id, self.agent_id), encode(command))

    async def raw_command(self, payload: bytes) -> None:
        await self.publish(commands_topic(self.org_id, self.agent_id), payload)

    async def desired(self, config: Any) -> None:
        await self.publish(config_topic(self.org_id, self.agent_id), encode(config), retain=True)


def now() -> datetime:
    return datetime.now(UTC)


def home(command_id: str, printer_id: str, valid_s: float = 300.0) -> HomeAxes:
    issued = now()
    return HomeAxes(
        command_id=command_id,
        printer_id=printer_id,
        issued_at=issued,
        expires_at=issued + timedelta(seconds=valid_s),
    )


def gcode(command_id: str, printer_id: str, lines: list[str]) -> RawGcode:
    issued = now()
    return RawGcode(
        command_id=command_id,
        printer_id=printer_id,
        issued_at=issued,
        expires_at=issued + timedelta(seconds=300),
        lines=lines,
    )
