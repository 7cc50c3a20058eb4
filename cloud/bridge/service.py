"""The bridge: one MQTT link, the applier, the queue runner and the dispatcher, together.

Message flow: the link hands each agent message to `_on_message` in arrival order.
Printer state snapshots (the bulk of the traffic) are buffered and applied in batches,
newest per printer; any other message first flushes the buffer, so an event is never
overtaken by an older snapshot. Whatever may let work progress (an idle printer, an agent
back online, a new job) "kicks" the worker, which plans the queue and sends due commands
and configs; an APScheduler interval kicks it too, as a safety net for anything missed
(a change made by another replica, a command to re-send).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from cloud.api.state import AppContext
from cloud.bridge.inbound import EventIn, Refused, ReplyIn, StateIn, StatusIn, classify
from cloud.bridge.mqtt import LinkSettings, MqttLink, NotConnectedError
from cloud.orchestration.applier import Applier
from cloud.orchestration.dispatch import Dispatcher
from cloud.queue.runner import QueueRunner
from shared.wire import TopicKind, subscription

log = logging.getLogger(__name__)

# States are batched for at most this long, or until this many are waiting.
STATE_BATCH_WINDOW_S = 0.05
STATE_BATCH_MAX = 500
# The worker coalesces kicks that arrive within this window into one pass.
KICK_DEBOUNCE_S = 0.02
SAFETY_INTERVAL_S = 2.0


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    mqtt_url: str
    client_id: str = ""
    # With several cloud replicas on Mosquitto/EMQX: a shared-subscription group name.
    shared_group: str | None = None
    ca_file: str | None = None


def default_client_id() -> str:
    return f"apf-cloud-{socket.gethostname()}-{os.getpid()}"[:64]


class Bridge:
    def __init__(self, app: AppContext, settings: BridgeSettings) -> None:
        self._app = app
        kinds = (TopicKind.STATUS, TopicKind.PRINTER_STATE, TopicKind.EVENTS, TopicKind.REPLIES)
        self.link = MqttLink(
            LinkSettings(
                url=settings.mqtt_url,
                client_id=settings.client_id or default_client_id(),
                ca_file=settings.ca_file,
            ),
            subscriptions=[(subscription(k, shared_group=settings.shared_group), 1) for k in kinds],
            handler=self._on_message,
            on_connected=self._on_connected,
        )
        self.applier = Applier(app, on_change=self.kick)
        self.dispatcher = Dispatcher(app, self._publish)
        self.runner = QueueRunner(app)
        self._states: list[StateIn] = []
        self._states_ready = asyncio.Event()
        self._apply_lock = asyncio.Lock()
        self._kicked = asyncio.Event()
        # For tests and the demo: set after each worker pass.
        self.passes = 0

    def kick(self, reason: str = "") -> None:
        """Ask the worker for a pass soon (cheap; safe to call from any coroutine)."""
        log.debug("bridge kicked: %s", reason)
        self._kicked.set()

    async def run(self) -> None:
        scheduler = AsyncIOScheduler()
        scheduler.add_job(
            self.kick,
            "interval",
            seconds=SAFETY_INTERVAL_S,
            args=["safety"],
            id="bridge-safety",
            coalesce=True,
            max_instances=1,
        )
        scheduler.start()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.link.run(), name="bridge-mqtt-link")
                group.create_task(self._state_flusher(), name="bridge-state-flusher")
                group.create_task(self._worker(), name="bridge-worker")
        finally:
            scheduler.shutdown(wait=False)

    # --- inbound -------------------------------------------------------------------------

    async def _on_message(self, topic: str, payload: bytes) -> None:
        item = classify(topic, payload)
        match item:
            case Refused():
                log.warning("skipped MQTT message on %s: %s", item.topic, item.reason)
            case StateIn():
                self._states.append(item)
                self._states_ready.set()
                if len(self._states) >= STATE_BATCH_MAX:
                    await self._flush_states()
            case StatusIn():
                await self._flush_states()
                async with self._apply_lock:
                    await self.applier.apply_status(item)
            case EventIn():
                await self._flush_states()
                async with self._apply_lock:
                    await self.applier.apply_event(item)
            case ReplyIn():
                await self._flush_states()
                async with self._apply_lock:
                    await self.applier.apply_reply(item)
            case _:
                pass  # telemetry is for dashboards; the cloud keeps the retained state

    async def _flush_states(self) -> None:
        async with self._apply_lock:
            batch, self._states = self._states, []
            self._states_ready.clear()
            if batch:
                await self.applier.apply_states(batch)

    async def _state_flusher(self) -> None:
        while True:
            await self._states_ready.wait()
            await asyncio.sleep(STATE_BATCH_WINDOW_S)  # let a burst gather into one batch
            try:
                await self._flush_states()
            except Exception:
                log.exception("applying printer states failed; they will be re-sent")

    # --- outbound ------------------------------------------------------------------------

    async def _publish(self, topic: str, payload: bytes, retain: bool) -> None:
        await self.link.publish(topic, payload, qos=1, retain=retain)

    async def _on_connected(self) -> None:
        self.dispatcher.forget_published()
        self.kick("connected")

    async def _worker(self) -> None:
        while True:
            await self._kicked.wait()
            await asyncio.sleep(KICK_DEBOUNCE_S)
            self._kicked.clear()
            try:
                await self.runner.run_once()
                if self.link.connected:
                    await self.dispatcher.publish_configs()
                    await self.dispatcher.publish_commands()
            except NotConnectedError as exc:
                log.info("bridge pass cut short, broker link down: %s", exc)
            except Exception:
                # A database hiccup must not end the worker; the safety interval retries.
                log.exception("bridge pass failed")
            self.passes += 1
