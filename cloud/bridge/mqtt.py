"""The cloud's MQTT connection: the only cloud module that imports aiomqtt.

`MqttLink` owns one connection to the broker and keeps it up: it reconnects with jittered
backoff, re-subscribes, tells its owner (``on_connected``) so that the owner can re-sync
(re-publish configs, re-send pending commands), and hands every message to ``handler`` one
at a time, in arrival order. A handler that raises is logged and the loop goes on: the
bridge never dies from input.

A lone cloud connects with a persistent session (``clean_session=False``), so a broker that
queues QoS 1 messages for absent sessions (Mosquitto does) keeps agents' messages across a
broken connection or a broker restart. Several replicas share the agent topics with
``$share/{group}/…`` subscriptions, so each message is handled by one replica (Mosquitto,
EMQX and the embedded broker all share them); they connect with clean sessions instead.
Mosquitto goes on giving an absent persistent session its turn in the group: a replica that
is gone (killed, scaled down, or restarted under a new client id) would take its share of
every agent's messages into a queue nobody reads. bench/replicas.py saw half the printers'
snapshots vanish that way once two replicas had been replaced. With clean sessions a replica
leaves the group when it disconnects; what it held unacknowledged is lost with it, and the
agents publish their unacknowledged events again (their outbox keeps them until the cloud
acknowledges, and a replica holding a later event asks them at once).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiomqtt

from shared.backoff import Backoff
from shared.broker_url import parse_broker_url
from shared.cancellation import raise_if_cancelled
from shared.mqtt_errors import explain

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], Awaitable[None]]
ConnectedHook = Callable[[], Awaitable[None]]


class NotConnectedError(RuntimeError):
    """Publishing while the link is down; the caller keeps the message and retries later."""


@dataclass(frozen=True, slots=True)
class LinkSettings:
    url: str
    client_id: str
    ca_file: str | None = None
    keepalive_s: int = 30
    publish_timeout_s: float = 10.0
    # False for a lone bridge: the broker keeps its subscriptions and queued messages while
    # the link is down. True for replicas sharing a group (see above) and for a short-lived
    # connection (`apf cloud check-broker`).
    clean_session: bool = False


class MqttLink:
    def __init__(
        self,
        settings: LinkSettings,
        *,
        subscriptions: Sequence[tuple[str, int]],
        handler: MessageHandler,
        on_connected: ConnectedHook | None = None,
        ignore_retained: Callable[[str], bool] | None = None,
    ) -> None:
        self._settings = settings
        self._address = parse_broker_url(settings.url)
        self._subscriptions = list(subscriptions)
        self._handler = handler
        self._on_connected = on_connected
        # Topics whose retained copies (replayed at subscription) must not reach the handler.
        self._ignore_retained = ignore_retained
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout_s: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        client = self._client
        if client is None or not self._connected.is_set():
            raise NotConnectedError("not connected to the MQTT broker")
        try:
            await client.publish(
                topic, payload, qos=qos, retain=retain, timeout=self._settings.publish_timeout_s
            )
        except aiomqtt.MqttError as exc:
            raise NotConnectedError(f"publish failed: {exc}") from exc
        raise_if_cancelled()  # aiomqtt may have dropped a cancel that came with the PUBACK

    async def run(self) -> None:
        """Stay connected until cancelled."""
        backoff = Backoff(base_s=0.5, cap_s=30.0)
        while True:
            try:
                await self._session(backoff)
            except aiomqtt.MqttError as exc:
                said = explain(
                    str(exc),
                    broker=self._address.redacted(),
                    username=self._address.username,
                    ca_setting="APF_MQTT_CA_FILE",
                )
                if said.needs_operator:
                    log.error("MQTT link: %s", said.message)
                else:
                    log.warning("MQTT link to %s lost: %s", self._address.redacted(), exc)
            finally:
                self._connected.clear()
                self._client = None
            delay_s = backoff.next_delay_s()
            log.info("reconnecting to %s in %.1fs", self._address.redacted(), delay_s)
            await asyncio.sleep(delay_s)

    async def _session(self, backoff: Backoff) -> None:
        address = self._address
        tls_context = None
        if address.tls:
            tls_context = ssl.create_default_context(cafile=self._settings.ca_file)
        async with aiomqtt.Client(
            address.host,
            address.port,
            username=address.username,
            password=address.password,
            identifier=self._settings.client_id,
            clean_session=self._settings.clean_session,
            keepalive=self._settings.keepalive_s,
            tls_context=tls_context,
            # No cap on the incoming queue: paho acknowledges QoS 1 on receipt and aiomqtt
            # drops what does not fit a capped queue, which would lose acknowledged events.
            timeout=self._settings.publish_timeout_s,
        ) as client:
            for topic, qos in self._subscriptions:
                await client.subscribe(topic, qos=qos)
                raise_if_cancelled()
            self._client = client
            self._connected.set()
            backoff.reset()
            log.info("MQTT link up: %s as %s", address.redacted(), self._settings.client_id)
            if self._on_connected is not None:
                await self._call_safely(self._on_connected(), "re-sync after connecting")
            async for first in client.messages:
                await self._handle(first)
                # What arrived meanwhile is handled without a wait per message: aiomqtt's
                # iterator creates a task and an asyncio.wait for each one, which was a
                # fifth of the bridge's time under a burst (bench/ingest.py, cProfile).
                for _ in range(len(client.messages)):
                    await self._handle(client._queue.get_nowait())

    async def _handle(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        if message.retain and self._ignore_retained is not None and self._ignore_retained(topic):
            log.warning("skipped a retained message on %s: only live ones count there", topic)
            return
        payload = message.payload
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        await self._call_safely(self._handler(topic, data), topic)

    @staticmethod
    async def _call_safely(awaitable: Awaitable[None], what: str) -> None:
        try:
            await awaitable
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bad message or a failing hook must not take the link down; the traceback goes
            # to the log so the cause can be found.
            log.exception("MQTT bridge: handling %s failed", what)
