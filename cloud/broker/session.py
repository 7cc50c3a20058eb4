"""A client's session: its subscriptions, the QoS 1 messages in flight to it, and the
queue of those waiting behind them.

MQTT 3.1.1 §4.1: a session outlives its connection unless the client asked for a clean
one; QoS 1 messages for an absent client of a persistent session are queued and delivered
when it returns, and messages sent but not acknowledged are sent again, with DUP set, when
it reconnects (§4.4). The in-flight window bounds what a slow client holds up; the queue
bound (``max_queued``) bounds the memory one absent client can take. QoS 0 messages are
never queued for an absent client (Mosquitto's default, ``queue_qos0_messages false``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from cloud.broker.acl import AccessPolicy
from shared.mqtt.topics import FilterSpec


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message on its way to one client, at the QoS its subscription granted."""

    message: Message
    qos: int
    # Set when sent because of a new subscription (§3.3.1.3): the client sees RETAIN=1.
    retain_flag: bool


class SessionLink(Protocol):
    """The connection that holds a session: it writes PUBLISH packets."""

    def send_publish(self, out: Outbound, packet_id: int | None, dup: bool) -> None: ...

    def close(self, *, with_will: bool) -> None: ...


@dataclass(slots=True)
class Session:
    client_id: str
    username: str
    clean: bool
    policy: AccessPolicy
    max_inflight: int
    max_queued: int
    subscriptions: dict[str, tuple[FilterSpec, int]] = field(default_factory=dict)
    inflight: dict[int, Outbound] = field(default_factory=dict)
    queue: deque[Outbound] = field(default_factory=deque)
    # QoS 2 packet ids received and not yet released by PUBREL (§4.3.3 method B).
    incoming_qos2: set[int] = field(default_factory=set)
    link: SessionLink | None = None
    offline_since: float | None = None
    dropped: int = 0
    _next_id: int = 0

    @property
    def connected(self) -> bool:
        return self.link is not None

    def _packet_id(self) -> int:
        for _ in range(65535):
            self._next_id = self._next_id % 65535 + 1
            if self._next_id not in self.inflight:
                return self._next_id
        raise RuntimeError("no free packet identifier")  # cannot happen: inflight is bounded

    def deliver(self, out: Outbound, *, force: bool = False) -> bool:
        """Send now if the window has room, else queue (QoS 1) or drop (QoS 0).

        ``force`` queues past the bound: retained messages sent for a new subscription are
        bounded by the retained store, not by this queue. False when the message was dropped.
        """
        if out.qos == 0:
            if self.link is None:
                return False
            self.link.send_publish(out, None, False)
            return True
        if self.link is not None and not self.queue and len(self.inflight) < self.max_inflight:
            self._send_qos1(out, dup=False)
            return True
        if len(self.queue) >= self.max_queued and not force:
            self.dropped += 1
            return False
        self.queue.append(out)
        return True

    def _send_qos1(self, out: Outbound, *, dup: bool) -> None:
        assert self.link is not None
        packet_id = self._packet_id()
        self.inflight[packet_id] = out
        self.link.send_publish(out, packet_id, dup)

    def acknowledged(self, packet_id: int) -> None:
        """PUBACK from the client: free the slot and send what waits."""
        if self.inflight.pop(packet_id, None) is not None:
            self.pump()

    def pump(self) -> None:
        while self.link is not None and self.queue and len(self.inflight) < self.max_inflight:
            self._send_qos1(self.queue.popleft(), dup=False)

    def attach(self, link: SessionLink) -> None:
        """A connection takes the session: unacknowledged messages go again, DUP set."""
        self.link = link
        self.offline_since = None
        for packet_id, out in list(self.inflight.items()):
            link.send_publish(out, packet_id, True)
        self.pump()

    def detach(self, link: SessionLink, now: float) -> bool:
        """The connection ``link`` ended; False if another one has taken the session since."""
        if self.link is not link:
            return False
        self.link = None
        self.offline_since = now
        return True
