"""Everything the agent tells the cloud goes through here.

- retained ``printers/{id}/state``: the latest snapshot, published on every change, on every
  (re)connect and as a slow heartbeat; only the newest matters, so nothing is queued;
- ``printers/{id}/telemetry`` (QoS 0): published when the link is up; while it is down one
  sample per printer per ``offline_telemetry_interval_s`` goes to the outbox (dropped first);
- events and replies: always through the durable outbox, drained in order by `run_outbox`,
  which also sends again the events the cloud has not acknowledged in time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from agent.sync.mqtt import LinkDown, MqttLink
from agent.sync.outbox import EventFactory, ExtraWrite, Outbox, PublishFailed, RowKind, drain
from shared.wire import (
    CommandReply,
    Event,
    PrinterState,
    Telemetry,
    encode,
    printer_state_topic,
    replies_topic,
    telemetry_topic,
)

log = logging.getLogger(__name__)

# After a publish failed while the link still looked up (an ack timeout), wait this long
# before trying the outbox again instead of spinning.
RETRY_AFTER_FAILURE_S = 2.0


class StateSource(Protocol):
    def state(self, session: int) -> PrinterState: ...


async def wait_any(*events: asyncio.Event, timeout_s: float | None = None) -> None:
    """Return when any of `events` is set (or after `timeout_s`)."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class Reporter:
    def __init__(
        self,
        *,
        link: MqttLink,
        outbox: Outbox,
        org_id: str,
        agent_id: str,
        offline_telemetry_interval_s: float,
    ) -> None:
        self._link = link
        self._outbox = outbox
        self._org_id = org_id
        self._agent_id = agent_id
        self._offline_interval_s = offline_telemetry_interval_s
        self._sources: dict[str, StateSource] = {}
        self._final: dict[str, PrinterState] = {}
        self._dirty: set[str] = set()
        self._dirty_event = asyncio.Event()
        self._last_offline_sample: dict[str, float] = {}
        self._replies_topic = replies_topic(org_id, agent_id)

    # --- state -----------------------------------------------------------------------

    def add_source(self, printer_id: str, source: StateSource) -> None:
        self._sources[printer_id] = source
        self._final.pop(printer_id, None)
        self.mark_dirty(printer_id)

    def remove_source(self, printer_id: str, final_state: PrinterState) -> None:
        """The printer is no longer driven here; its retained state says so."""
        self._sources.pop(printer_id, None)
        self._final[printer_id] = final_state
        self.mark_dirty(printer_id)

    def mark_dirty(self, printer_id: str) -> None:
        self._dirty.add(printer_id)
        self._dirty_event.set()

    def connected(self) -> None:
        """A new connection: re-sync states; the next outage samples telemetry afresh."""
        self._last_offline_sample.clear()
        self.mark_all_dirty()

    def mark_all_dirty(self) -> None:
        self._dirty.update(self._sources)
        self._dirty.update(self._final)
        self._dirty_event.set()

    async def run_states(self) -> None:
        while True:
            await self._dirty_event.wait()
            self._dirty_event.clear()
            if not self._link.connected.is_set():
                continue  # the next connection marks everything dirty
            for printer_id in sorted(self._dirty):
                state = self._state_of(printer_id)
                self._dirty.discard(printer_id)
                if state is None:
                    continue
                topic = printer_state_topic(self._org_id, self._agent_id, printer_id)
                try:
                    await self._link.publish(topic, encode(state), 1, retain=True)
                except LinkDown:
                    self._dirty.add(printer_id)
                    break
                if self._final.get(printer_id) is state:
                    # Published for good; a newer final state set meanwhile stays queued.
                    del self._final[printer_id]

    def _state_of(self, printer_id: str) -> PrinterState | None:
        source = self._sources.get(printer_id)
        if source is not None:
            return source.state(self._link.session)
        return self._final.get(printer_id)

    async def run_heartbeat(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)  # a period, not synchronisation
            self.mark_all_dirty()

    # --- telemetry -------------------------------------------------------------------

    async def telemetry(self, printer_id: str, sample: Telemetry) -> None:
        payload = encode(sample)
        topic = telemetry_topic(self._org_id, self._agent_id, printer_id)
        if self._link.connected.is_set():
            try:
                await self._link.publish(topic, payload, 0)
                return
            except LinkDown:
                pass
        now = time.monotonic()
        last = self._last_offline_sample.get(printer_id)
        if last is None or now - last >= self._offline_interval_s:
            self._last_offline_sample[printer_id] = now
            await self._outbox.add(RowKind.TELEMETRY, topic, payload, qos=0)

    # --- events and replies -----------------------------------------------------------

    async def event(
        self, build: EventFactory, kind: RowKind, *, also: ExtraWrite | None = None
    ) -> Event:
        event = await self._outbox.add_event(build, kind, also=also)
        log.info("event %s #%d for %s", _event_type(event), event.seq, event.printer_id)
        return event

    async def reply(self, reply: CommandReply, *, also: ExtraWrite | None = None) -> bytes:
        payload = encode(reply)
        await self._outbox.add(RowKind.REPLY, self._replies_topic, payload, also=also)
        return payload

    async def reply_again(self, payload: bytes) -> None:
        await self._outbox.add(RowKind.REPLY, self._replies_topic, payload)

    async def run_outbox(self) -> None:
        """Drain the outbox whenever the link is up and there is something to send."""
        publish: Callable[[str, bytes, int], Awaitable[None]] = self._link.publish
        loop = asyncio.get_running_loop()
        while True:
            await self._link.connected.wait()
            try:
                sent = await drain(self._outbox, publish)
                if sent:
                    log.debug("outbox: %d messages delivered", sent)
            except PublishFailed as exc:
                log.info("outbox: delivery paused (%s); kept for the next attempt", exc)
                if self._link.connected.is_set():
                    await asyncio.sleep(RETRY_AFTER_FAILURE_S)  # backoff, not sync
                continue
            # Also wake when sent events have waited too long for the cloud's ack.
            due_in_s = self._outbox.resend_due_in(loop.time())
            await wait_any(self._outbox.added, self._link_lost(), timeout_s=due_in_s)
            self._outbox.resend_if_due(loop.time())

    def _link_lost(self) -> asyncio.Event:
        return self._link.lost_event


def _event_type(event: Event) -> str:
    info = type(event).__struct_config__.tag
    return str(info)
