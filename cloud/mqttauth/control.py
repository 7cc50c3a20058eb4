"""Talking to the broker's dynamic-security control topic: commands out, answers matched.

The broker answers every command document on ``$CONTROL/dynamic-security/v1/response``,
to every subscriber of that topic (so with several cloud replicas each sees all answers),
echoing the string ``correlationData`` of each command (Mosquitto 2.0.11, observed). A
document is tagged with one correlation id on its first command; its answers come back in
order, in one response document. Nothing here knows MQTT: the caller passes a publish
function and feeds every response payload to `on_response`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"

Publish = Callable[[str, bytes, int], Awaitable[None]]  # (topic, payload, qos)
Command = dict[str, Any]


class BrokerAdminError(Exception):
    """The broker cannot be administered: the message says what is wrong, plainly."""


class NoAnswerError(BrokerAdminError):
    """No answer on the control topic within the time allowed."""


@dataclass(frozen=True, slots=True)
class Answer:
    command: str
    error: str | None
    data: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.error is None


class DynsecControl:
    def __init__(self, publish: Publish, *, timeout_s: float = 5.0) -> None:
        self._publish = publish
        self._timeout_s = timeout_s
        self._waiting: dict[str, asyncio.Future[list[Answer]]] = {}

    async def run(self, commands: Sequence[Command]) -> list[Answer]:
        """Send one document; its answers, one per command, in order."""
        if not commands:
            return []
        correlation = "apf-" + secrets.token_hex(8)
        first = {**commands[0], "correlationData": correlation}
        document = {"commands": [first, *commands[1:]]}
        future: asyncio.Future[list[Answer]] = asyncio.get_running_loop().create_future()
        self._waiting[correlation] = future
        try:
            await self._publish(CONTROL_TOPIC, json.dumps(document).encode(), 1)
            async with asyncio.timeout(self._timeout_s):
                answers = await future
        except TimeoutError:
            raise NoAnswerError(
                f"no answer on {RESPONSE_TOPIC} within {self._timeout_s:g} s"
            ) from None
        finally:
            self._waiting.pop(correlation, None)
        if len(answers) != len(commands):
            raise BrokerAdminError(
                f"the broker answered {len(answers)} of {len(commands)} commands"
            )
        return answers

    async def one(self, command: Command) -> Answer:
        return (await self.run([command]))[0]

    async def send_only(self, command: Command) -> None:
        """Send without waiting for the answer, at QoS 0: for a command that makes the
        broker disconnect us (a change to our own login). At QoS 1 the client would send it
        again after reconnecting, unacknowledged, and on Mosquitto that can loop."""
        await self._publish(CONTROL_TOPIC, json.dumps({"commands": [command]}).encode(), 0)

    def on_response(self, payload: bytes) -> None:
        """A message on the response topic (ours or another replica's); never raises."""
        try:
            responses = json.loads(payload)["responses"]
            correlation = responses[0].get("correlationData") if responses else None
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
            log.warning("unreadable answer on %s", RESPONSE_TOPIC)
            return
        future = self._waiting.get(correlation) if isinstance(correlation, str) else None
        if future is None or future.done():
            return  # another replica's, or one we stopped waiting for
        future.set_result([_answer(r) for r in responses])


def _answer(raw: Any) -> Answer:
    if not isinstance(raw, dict):
        return Answer("?", "unreadable answer", {})
    data = raw.get("data")
    error = raw.get("error")
    return Answer(
        command=str(raw.get("command", "?")),
        error=str(error) if error is not None else None,
        data=data if isinstance(data, dict) else {},
    )
