"""The agent's MQTT link — the only agent module that imports aiomqtt/paho.

One connection per agent (MQTT allows one Last Will per connection; the agent's Will covers
all its printers, docs/mqtt.md). Per connection:
- a new session number (persisted counter) goes into both the Will (``offline``, retained)
  and the birth (``online``, retained), so a late Will of an old connection carries a lower
  session than the newest ``online`` and a consumer can tell it is stale (the Sparkplug
  bdSeq rule, field notes §3.9);
- ``clean_session=False`` so QoS 1 commands sent while the agent was away are queued by the
  broker (while the broker keeps the session; the cloud also re-sends, DESIGN.md);
- subscriptions to ``config`` and ``commands`` at QoS 1;
- reconnect with full-jitter exponential backoff, so a fleet of agents does not stampede a
  broker that comes back;
- on a clean shutdown the agent publishes ``offline`` itself: a broker sends the Will only
  on an unexpected disconnect (mosquitto ``mqtt(7)``, field notes §3.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable

import aiomqtt

from agent.config import BrokerEndpoint
from agent.sync.outbox import PublishFailed
from shared.backoff import Backoff
from shared.cancellation import raise_if_cancelled
from shared.mqtt_errors import explain

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
PUBLISH_TIMEOUT_S = 10.0
# The broker keeps at most this many incoming messages for us before paho drops them; the
# handler only decodes and enqueues, so the queue stays short.
MAX_QUEUED_INCOMING = 1000


class LinkDown(PublishFailed):
    """The broker is not reachable right now; the caller keeps the message for later."""


StatusPayload = Callable[[bool, int], bytes]  # (online, session) -> payload
MessageHandler = Callable[[str, bytes], Awaitable[None]]
# Called once per connection, after the birth and subscriptions; must not block.
ConnectedHook = Callable[[int], None]


class LinkSetupError(Exception):
    """The link cannot be set up at all (e.g. an unreadable CA file); retrying won't help."""


def _tls_context(endpoint: BrokerEndpoint) -> ssl.SSLContext | None:
    if not endpoint.tls:
        return None
    try:
        context = ssl.create_default_context(cafile=endpoint.ca_file)
        if endpoint.cert_file is not None:
            context.load_cert_chain(endpoint.cert_file, endpoint.key_file)
    except (ssl.SSLError, OSError) as exc:
        raise LinkSetupError(f"cannot load the TLS certificates for the broker: {exc}") from exc
    return context


class MqttLink:
    """Run ``await link.run()`` in the agent's task group; ``publish`` from anywhere."""

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        *,
        client_id: str,
        status_topic: str,
        subscriptions: list[str],
        next_session: Callable[[], Awaitable[int]],
        status_payload: StatusPayload,
        on_message: MessageHandler,
        on_connected: ConnectedHook,
        keepalive_s: int = 30,
        backoff_min_s: float = 1.0,
        backoff_max_s: float = 60.0,
    ) -> None:
        self._endpoint = endpoint
        # Built once, so a bad certificate stops start-up instead of every reconnect.
        self._tls = _tls_context(endpoint)
        self._client_id = client_id
        self._status_topic = status_topic
        self._subscriptions = subscriptions
        self._next_session = next_session
        self._status_payload = status_payload
        self._on_message = on_message
        self._on_connected = on_connected
        self._keepalive_s = keepalive_s
        self._backoff_min_s = backoff_min_s
        self._backoff_max_s = backoff_max_s
        self._client: aiomqtt.Client | None = None
        self._lost = asyncio.Event()
        self._lost.set()
        self._closing = False
        self.connected = asyncio.Event()
        self.session = 0
        self.connections = 0

    def _make_client(self, session: int) -> aiomqtt.Client:
        ep = self._endpoint
        return aiomqtt.Client(
            ep.host,
            ep.port,
            username=ep.username,
            password=ep.password,
            identifier=self._client_id,
            clean_session=False,
            keepalive=self._keepalive_s,
            timeout=CONNECT_TIMEOUT_S,
            will=aiomqtt.Will(
                self._status_topic, self._status_payload(False, session), qos=1, retain=True
            ),
            tls_context=self._tls,
            max_queued_incoming_messages=MAX_QUEUED_INCOMING,
        )

    async def run(self) -> None:
        """Connect, serve, reconnect forever (until cancelled or `close` is called)."""
        backoff = Backoff(base_s=self._backoff_min_s, cap_s=self._backoff_max_s)
        while not self._closing:
            session = await self._next_session()
            try:
                await self._serve(self._make_client(session), session, backoff)
            except aiomqtt.MqttError as exc:
                said = explain(
                    str(exc),
                    broker=str(self._endpoint),
                    username=self._endpoint.username,
                    ca_setting="[mqtt] ca_file in the agent's config",
                )
                # Loud once per outage, quiet on every further retry of the same outage.
                level = logging.INFO if backoff.attempt else logging.WARNING
                if said.needs_operator:
                    level = logging.INFO if backoff.attempt else logging.ERROR
                    log.log(level, "MQTT link is down: %s", said.message)
                else:
                    log.log(level, "MQTT link to %s is down: %s", self._endpoint, exc)
            finally:
                self._client = None
                self.connected.clear()
                self._lost.set()
            if self._closing:
                return
            delay_s = backoff.next_delay_s()
            log.info("reconnecting to the broker in %.1f s", delay_s)
            # A backoff pause, not synchronisation: nothing to wait on but time.
            await asyncio.sleep(delay_s)

    async def _serve(self, client: aiomqtt.Client, session: int, backoff: Backoff) -> None:
        async with client:
            backoff.reset()
            self._lost = asyncio.Event()
            await client.publish(
                self._status_topic,
                self._status_payload(True, session),
                qos=1,
                retain=True,
                timeout=PUBLISH_TIMEOUT_S,
            )
            await client.subscribe(
                [(topic, 1) for topic in self._subscriptions], timeout=PUBLISH_TIMEOUT_S
            )
            raise_if_cancelled()  # aiomqtt may have dropped a cancel (shared/cancellation.py)
            self._client = client
            self.session = session
            self.connections += 1
            self.connected.set()
            log.info("connected to %s as %s (session %d)", self._endpoint, self._client_id, session)
            self._on_connected(session)
            async for message in client.messages:
                payload = message.payload
                data = payload if isinstance(payload, bytes) else str(payload).encode()
                await self._on_message(str(message.topic), data)

    @property
    def lost_event(self) -> asyncio.Event:
        """Set when the current connection ends (already set while disconnected)."""
        return self._lost

    async def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 1,
        *,
        retain: bool = False,
        timeout_s: float = PUBLISH_TIMEOUT_S,
    ) -> None:
        """Publish and, for QoS 1, return only once the broker acked; `LinkDown` otherwise."""
        client = self._client
        if client is None or not self.connected.is_set():
            raise LinkDown("not connected to the broker")
        lost = self._lost
        send = asyncio.ensure_future(
            client.publish(topic, payload, qos=qos, retain=retain, timeout=timeout_s)
        )
        watch = asyncio.ensure_future(lost.wait())
        try:
            done, _ = await asyncio.wait({send, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not send.done():
                send.cancel()
        if send not in done:
            raise LinkDown("the connection dropped before the broker acknowledged")
        try:
            send.result()
        except aiomqtt.MqttError as exc:
            raise LinkDown(f"publish failed: {exc}") from exc

    async def announce(self) -> None:
        """Publish the retained ``online`` status again (e.g. the printer list changed)."""
        if self.connected.is_set():
            # If the link drops meanwhile, the next connection publishes a fresh birth.
            with contextlib.suppress(LinkDown):
                await self.publish(
                    self._status_topic, self._status_payload(True, self.session), 1, retain=True
                )

    async def close(self, *, timeout_s: float = 5.0) -> None:
        """Say ``offline`` (retained) ourselves, then disconnect cleanly (no Will)."""
        self._closing = True
        client = self._client
        if client is None or not self.connected.is_set():
            return
        try:
            await client.publish(
                self._status_topic,
                self._status_payload(False, self.session),
                qos=1,
                retain=True,
                timeout=timeout_s,
            )
            log.info("published offline status (session %d)", self.session)
        except aiomqtt.MqttError as exc:
            log.warning("could not publish the offline status on shutdown: %s", exc)
