"""Sending agents their event acknowledgements, coalesced.

After the bridge applies an agent's events, that agent is owed an `EventAck` (retained, QoS
1, on ``acks``) with what the database says is applied through (cloud/orchestration/acks.py).
Owing is cheap and idempotent; the sender publishes once per agent per `window_s`, however
many events came in, so a burst of events costs one publish per agent, not one per event.
A ``resend`` request (the bridge reconnected, or it holds an event behind a missing one) is
kept until the publish that carries it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from cloud.bridge.mqtt import NotConnectedError
from cloud.context import CloudContext
from cloud.orchestration import acks
from shared import wire

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], Awaitable[None]]  # retained, QoS 1


class AckSender:
    def __init__(self, app: CloudContext, publish: Publish, *, window_s: float) -> None:
        self._app = app
        self._publish = publish
        self._window_s = window_s
        self._owed: dict[str, bool] = {}  # agent id -> ask it to resend
        self._ready = asyncio.Event()
        self.published = 0

    def owe(self, agent_id: str, *, resend: bool = False) -> None:
        self._owed[agent_id] = self._owed.get(agent_id, False) or resend
        self._ready.set()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            await asyncio.sleep(self._window_s)  # let a burst of events gather into one ack
            owed, self._owed = self._owed, {}
            self._ready.clear()
            try:
                await self._send(owed)
            except NotConnectedError as exc:
                # The next connection owes every known agent an ack anyway (with resend).
                log.info("event acks not sent, broker link down: %s", exc)
            except Exception:
                log.exception("sending event acks failed; owed again")
                for agent_id, resend in owed.items():
                    self.owe(agent_id, resend=resend)
                await asyncio.sleep(1.0)  # backoff, not synchronisation: a database outage

    async def _send(self, owed: dict[str, bool]) -> None:
        while owed:
            agent_id, resend = next(iter(owed.items()))
            found = await acks.advance(self._app, agent_id)
            if found is not None:
                org_id, applied_seq = found
                ack = wire.EventAck(applied_seq=applied_seq, resend=resend)
                await self._publish(wire.acks_topic(org_id, agent_id), wire.encode(ack))
                self.published += 1
            del owed[agent_id]
