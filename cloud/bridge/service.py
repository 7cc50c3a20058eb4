"""The bridge: one MQTT link, the applier, the queue runner and the dispatcher, together.

Message flow: the link hands each agent message to `_on_message` in arrival order.
Printer state snapshots (the bulk of the traffic) are buffered and applied in batches,
newest per printer; any other message first flushes the buffer, so an event is never
overtaken by an older snapshot. Whatever may let work progress (an idle printer, an agent
back online, a new job) "kicks" the worker, which plans the queue and sends due commands
and configs; an APScheduler interval kicks it too, as a safety net for anything missed
(a change made by another replica, a command to re-send).

Every event applied (or recognised as a duplicate) makes its agent owed an acknowledgement
(`AckSender`, coalesced): the agent keeps an event until the cloud says it is applied.
After every (re)connect each known agent is told again, with ``resend``: while the bridge was
away the broker may have dropped what the agents sent (a restarted embedded broker has no
sessions; a full queue drops), and an agent whose events were applied meanwhile learns it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from cloud.bridge.acks import AckSender
from cloud.bridge.inbound import (
    EventIn,
    Refused,
    ReplyIn,
    StateIn,
    StatusIn,
    TelemetryIn,
    classify,
)
from cloud.bridge.mqtt import LinkSettings, MqttLink, NotConnectedError
from cloud.bridge.ordering import EventOrder
from cloud.context import CloudContext
from cloud.homeassistant.link import HomeAssistant
from cloud.metrics.series import BridgeKind, bridge_applied, bridge_received
from cloud.mqttauth.control import RESPONSE_TOPIC, DynsecControl
from cloud.mqttauth.provisioner import Provisioner
from cloud.orchestration import acks
from cloud.orchestration.applier import Applier
from cloud.orchestration.dispatch import Dispatcher
from cloud.queue.runner import QueueRunner
from shared.backoff import Backoff
from shared.broker_url import parse_broker_url
from shared.enums import AgentState
from shared.wire import TopicKind, subscription

log = logging.getLogger(__name__)

# States are batched for at most this long, or until this many are waiting.
STATE_BATCH_WINDOW_S = 0.05
STATE_BATCH_MAX = 500
# The worker coalesces kicks that arrive within this window into one pass.
KICK_DEBOUNCE_S = 0.02
SAFETY_INTERVAL_S = 2.0
# How long an event waits for a missing earlier one (see cloud.bridge.ordering). Long enough
# for the agent to re-send it when a replica that held it unacknowledged died, even behind a
# backlog: bench/replicas.py, which kills one of two replicas mid-run, saw events applied out
# of order (status changes lost from the log) with a 2 s hold. A gap that never closes (an
# agent's full outbox dropped a printer event) delays that agent's later events this long.
EVENT_HOLD_S = 10.0
# While an event is held, how often the database is asked whether another replica applied
# the missing one (one query for every waiting agent). With two replicas an agent's events
# alternate between them, so each hold usually ends this way.
EVENT_HOLD_CHECK_S = 0.05
# An event held this long behind a missing one makes the bridge ask the agent to re-send
# (well within the hold, so the missing event can still be applied in order), and again every
# `EVENT_RESEND_ASK_EVERY_S` while the hold lasts.
EVENT_RESEND_ASK_S = 0.5
EVENT_RESEND_ASK_EVERY_S = 2.0
# Acknowledgements to agents are coalesced over this window: each costs a database round
# and a publish, while an agent waits seconds for one before it re-sends. bench/ingest.py
# --events 2000: ~28 acks at 0.2 s against ~125 at 0.05 s.
ACK_WINDOW_S = 0.2
# A database error while applying is retried this many times, with backoff, before the
# message is given up (and logged): a brief outage or lock must not lose an event.
APPLY_ATTEMPTS = 5

# The `kind` label of apf_bridge_messages_total (cloud/metrics/series.py).
_METRIC_KIND: dict[type, BridgeKind] = {
    Refused: BridgeKind.REFUSED,
    StateIn: BridgeKind.STATE,
    StatusIn: BridgeKind.STATUS,
    EventIn: BridgeKind.EVENT,
    ReplyIn: BridgeKind.REPLY,
    TelemetryIn: BridgeKind.TELEMETRY,
}


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    mqtt_url: str
    client_id: str = ""
    # With several cloud replicas on Mosquitto/EMQX: a shared-subscription group name.
    shared_group: str | None = None
    ca_file: str | None = None
    # Administer broker logins through the dynamic-security control topic (cloud.mqttauth).
    provisioning: bool = True


def default_client_id() -> str:
    return f"apf-cloud-{socket.gethostname()}-{os.getpid()}"[:64]


class Bridge:
    def __init__(self, app: CloudContext, settings: BridgeSettings) -> None:
        self._app = app
        kinds = (
            TopicKind.STATUS,
            TopicKind.PRINTER_STATE,
            TopicKind.TELEMETRY,
            TopicKind.EVENTS,
            TopicKind.REPLIES,
        )
        subscriptions = [(subscription(k, shared_group=settings.shared_group), 1) for k in kinds]
        if settings.provisioning:
            subscriptions.append((RESPONSE_TOPIC, 1))
        subscriptions.extend(HomeAssistant.subscriptions(settings.shared_group))
        self.link = MqttLink(
            LinkSettings(
                url=settings.mqtt_url,
                client_id=settings.client_id or default_client_id(),
                ca_file=settings.ca_file,
                # Replicas in a shared group must leave it when they go (cloud/bridge/mqtt.py).
                clean_session=settings.shared_group is not None,
            ),
            subscriptions=subscriptions,
            handler=self._on_message,
            on_connected=self._on_connected,
            ignore_retained=HomeAssistant.ignores_retained,
        )
        self.control = DynsecControl(self._publish_control)
        address = parse_broker_url(settings.mqtt_url)
        self.provisioner: Provisioner | None = None
        if settings.provisioning:
            self.provisioner = Provisioner(
                app,
                self.control,
                self._publish_retained,
                link_up=lambda: self.link.connected,
                cloud_username=address.username,
                broker=address.redacted(),
            )
        # Home Assistant discovery and buttons, for the organizations that turn them on.
        self.home_assistant = HomeAssistant(
            app, self._publish_retained, link_up=lambda: self.link.connected
        )
        self.applier = Applier(app, on_change=self.kick)
        self.dispatcher = Dispatcher(app, self._publish)
        self.runner = QueueRunner(app)
        self._states: list[StateIn] = []
        self._telemetry: list[TelemetryIn] = []
        self._states_ready = asyncio.Event()
        self._apply_lock = asyncio.Lock()
        self._kicked = asyncio.Event()
        self._order = EventOrder(hold_s=EVENT_HOLD_S)
        self.acks = AckSender(app, self._publish_ack, window_s=ACK_WINDOW_S)
        self._resend_asked_at: dict[str, float] = {}

    def kick(self, reason: str = "") -> None:
        """Ask the worker for a pass soon (cheap; safe to call from any coroutine)."""
        log.debug("bridge kicked: %s", reason)
        self._kicked.set()
        if reason != "safety":  # Home Assistant keeps its own, slower interval
            self.home_assistant.poke()

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
                group.create_task(self._held_events(), name="bridge-held-events")
                group.create_task(self.acks.run(), name="bridge-acks")
                group.create_task(self.home_assistant.publisher.run(), name="bridge-ha")
                if self.provisioner is not None:
                    group.create_task(self.provisioner.run(), name="bridge-provisioner")
        finally:
            scheduler.shutdown(wait=False)

    # --- inbound -------------------------------------------------------------------------

    async def _on_message(self, topic: str, payload: bytes) -> None:
        if topic == RESPONSE_TOPIC:
            self.control.on_response(payload)
            return
        if HomeAssistant.handles(topic):
            await self.home_assistant.on_message(topic, payload)
            return
        item = classify(topic, payload)
        bridge_received(_METRIC_KIND[type(item)])
        match item:
            case Refused():
                log.warning("skipped MQTT message on %s: %s", item.topic, item.reason)
            case StateIn():
                self._states.append(item)
                self._states_ready.set()
                if len(self._states) >= STATE_BATCH_MAX:
                    await self._flush_states()
            case StatusIn():
                await self._flush_states_safely()
                async with self._apply_lock:
                    await _with_retries(self.applier.apply_status, item)
                bridge_applied([item.status.ts])
                if item.status.state is AgentState.ONLINE:
                    self.acks.owe(item.agent_id)
            case EventIn():
                await self._flush_states_safely()
                if not self._order.knows(item.agent_id):
                    self._order.learn(item.agent_id, await self.applier.last_seq(item.agent_id))
                loop = asyncio.get_running_loop()
                await self._apply_events(self._order.offer(item, loop.time()))
            case ReplyIn():
                await self._flush_states_safely()
                async with self._apply_lock:
                    await _with_retries(self.applier.apply_reply, item)
                bridge_applied([item.reply.ts])
            case TelemetryIn():
                self._telemetry.append(item)
                self._states_ready.set()

    async def _apply_events(self, items: list[EventIn]) -> None:
        for event in items:
            async with self._apply_lock:
                applied = await _with_retries(self.applier.apply_event, event)
            if applied:  # a duplicate's lag would be its first copy's, counted then
                bridge_applied([event.event.ts])
            self._order.applied(event)
            # A duplicate too: the agent re-sent it because it has not heard of it yet.
            self.acks.owe(event.agent_id)

    async def _flush_states_safely(self) -> None:
        # Snapshots are retained and re-sent by the agent's heartbeat; failing to store a
        # batch must never keep an event or a reply from being applied.
        try:
            await self._flush_states()
        except Exception:
            log.exception("applying printer states failed; they will be re-sent")

    async def _flush_states(self) -> None:
        async with self._apply_lock:
            batch, self._states = self._states, []
            samples, self._telemetry = self._telemetry, []
            self._states_ready.clear()
            # Telemetry first: a snapshot in the same batch is the more authoritative word.
            if samples:
                await self.applier.apply_telemetry(samples)
                bridge_applied(sample.telemetry.ts for sample in samples)
            if batch:
                await self.applier.apply_states(batch)
                bridge_applied(state.state.ts for state in batch)

    async def _state_flusher(self) -> None:
        while True:
            await self._states_ready.wait()
            await asyncio.sleep(STATE_BATCH_WINDOW_S)  # let a burst gather into one batch
            await self._flush_states_safely()

    async def _held_events(self) -> None:
        """Apply events whose wait for an earlier sequence number is over."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(EVENT_HOLD_CHECK_S)  # the hold's granularity
            try:
                # With several replicas the missing event is often applied by another one:
                # what the database says ends the wait early.
                waiting = self._order.waiting_agents()
                if waiting:
                    for agent_id, seq in (await self.applier.last_seqs(waiting)).items():
                        self._order.learn(agent_id, seq)
            except Exception:
                log.exception("reading applied sequence numbers failed")
            self._ask_for_missing_events(loop.time())
            due = self._order.expired(loop.time())
            if due:
                try:
                    await self._apply_events(due)
                except Exception:
                    log.exception("applying held events failed")

    def _ask_for_missing_events(self, now_s: float) -> None:
        for agent_id in self._order.waiting_agents():
            waited_s = self._order.oldest_wait_s(agent_id, now_s)
            asked_s = self._resend_asked_at.get(agent_id)
            if waited_s < EVENT_RESEND_ASK_S or (
                asked_s is not None and now_s - asked_s < EVENT_RESEND_ASK_EVERY_S
            ):
                continue
            log.info("agent %s: event held for a missing one; asking it to re-send", agent_id)
            self._resend_asked_at[agent_id] = now_s
            self.acks.owe(agent_id, resend=True)

    # --- outbound ------------------------------------------------------------------------

    async def _publish_ack(self, topic: str, payload: bytes) -> None:
        # Retained: an agent that connects later (or again) learns the latest at once.
        await self.link.publish(topic, payload, qos=1, retain=True)

    async def _publish(self, topic: str, payload: bytes, retain: bool) -> None:
        await self.link.publish(topic, payload, qos=1, retain=retain)

    async def _publish_retained(self, topic: str, payload: bytes) -> None:
        await self.link.publish(topic, payload, qos=1, retain=True)

    async def _publish_control(self, topic: str, payload: bytes, qos: int) -> None:
        await self.link.publish(topic, payload, qos=qos)

    async def _on_connected(self) -> None:
        if self.provisioner is not None:
            self.provisioner.connected()
        self.dispatcher.forget_published()
        self.home_assistant.connected()
        self.kick("connected")
        for agent_id in await acks.known_agents(self._app):
            self.acks.owe(agent_id, resend=True)

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


T = TypeVar("T")
R = TypeVar("R")


async def _with_retries(apply: Callable[[T], Awaitable[R]], item: T) -> R:
    backoff = Backoff(base_s=0.2, cap_s=3.0)
    for attempt in range(1, APPLY_ATTEMPTS + 1):
        try:
            return await apply(item)
        except (DBAPIError, StaleDataError) as exc:
            # StaleDataError: another writer changed the job meanwhile; applied again, the
            # report meets the job as it is now.
            if attempt == APPLY_ATTEMPTS:
                raise
            delay_s = backoff.next_delay_s()
            log.warning(
                "database error applying %s (attempt %d, retry in %.1fs): %s",
                type(item).__name__,
                attempt,
                delay_s,
                exc,
            )
            await asyncio.sleep(delay_s)
    raise AssertionError("unreachable")  # pragma: no cover
