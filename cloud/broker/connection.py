"""One client's network connection: read packets, act on them, write answers.

The first packet must be a CONNECT, within the connect timeout; the broker decides whether
the client gets in (`Broker.admit`). After that, the connection reads until the client says
DISCONNECT, breaks the protocol, stays silent past one and a half keep-alive periods
(§3.1.2.10), or is closed by the broker (kicked or taken over). Every way out but DISCONNECT
publishes the client's Will.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from cloud.broker.acl import Action
from cloud.broker.session import Message, Outbound, Session
from shared.mqtt.packets import (
    SUBACK_FAILURE,
    Bare,
    Connect,
    MalformedPacket,
    PacketIdOnly,
    PacketReader,
    PacketType,
    Publish,
    Subscribe,
    Unsubscribe,
    Will,
    encode_bare,
    encode_id_only,
    encode_publish,
    encode_suback,
)
from shared.mqtt.topics import TopicError, check_topic_name, parse_subscription

if TYPE_CHECKING:
    from cloud.broker.server import Broker

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024


class Connection:
    def __init__(
        self, broker: Broker, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._broker = broker
        self._reader = reader
        self._writer = writer
        self._packets = PacketReader(broker.settings.max_packet_bytes)
        peer = writer.get_extra_info("peername")
        self.address: str = peer[0] if isinstance(peer, tuple) else str(peer or "unknown")
        self.username: str | None = None
        self.client_id: str | None = None
        self._session: Session | None = None
        self._will: Will | None = None
        self._closing = False

    # --- what the session and the broker call -------------------------------------------

    def write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    def send_publish(self, out: Outbound, packet_id: int | None, dup: bool) -> None:
        if out.qos == 0:
            # An absent reader's socket buffer is not a queue: drop QoS 0 past the limit.
            transport = self._writer.transport
            if transport.get_write_buffer_size() > self._broker.settings.qos0_buffer_bytes:
                return
        msg = out.message
        self.write(
            encode_publish(
                msg.topic,
                msg.payload,
                out.qos,
                retain=out.retain_flag,
                dup=dup,
                packet_id=packet_id,
            )
        )

    def close(self, *, with_will: bool) -> None:
        """End the connection from the broker's side (kicked, or taken over)."""
        if not with_will:
            self._will = None
        self._closing = True
        self._writer.close()

    # --- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        clean_exit = False
        try:
            connect = await self._first_packet()
            if connect is None:
                return
            self._session = await self._broker.admit(self, connect)
            if self._session is None:
                return
            self.username = connect.username
            self.client_id = self._session.client_id
            self._will = connect.will
            clean_exit = await self._serve(connect.keepalive_s)
        except MalformedPacket as exc:
            log.warning("closing %s (%s): %s", self.client_id or "?", self.address, exc)
        except (ConnectionError, TimeoutError, OSError) as exc:
            log.debug("connection %s (%s) ended: %s", self.client_id, self.address, exc)
        finally:
            will = None if clean_exit else self._will
            self._broker.connection_ended(self, self._session, will)
            self._writer.close()

    async def _first_packet(self) -> Connect | None:
        async with asyncio.timeout(self._broker.settings.connect_timeout_s):
            while True:
                packet = self._packets.next_packet()
                if packet is not None:
                    break
                data = await self._reader.read(READ_CHUNK)
                if not data:
                    return None
                self._packets.feed(data)
        if not isinstance(packet, Connect):
            raise MalformedPacket("the first packet was not CONNECT")
        return packet

    async def _serve(self, keepalive_s: int) -> bool:
        """Read and handle packets; True when the client said DISCONNECT."""
        timeout_s = keepalive_s * 1.5 if keepalive_s else None
        while not self._closing:
            while (packet := self._packets.next_packet()) is not None:
                if isinstance(packet, Bare) and packet.type is PacketType.DISCONNECT:
                    return True
                await self._handle(packet)
            async with asyncio.timeout(timeout_s):
                # A client that does not read what it is sent is not read from either.
                await self._writer.drain()
                data = await self._reader.read(READ_CHUNK)
            if not data:
                return False
            self._packets.feed(data)
        return False

    async def _handle(self, packet: object) -> None:
        session = self._session
        assert session is not None
        match packet:
            case Publish():
                await self._publish(session, packet)
            case PacketIdOnly(type=PacketType.PUBACK, packet_id=pid):
                session.acknowledged(pid)
            case PacketIdOnly(type=PacketType.PUBREL, packet_id=pid):
                session.incoming_qos2.discard(pid)
                self.write(encode_id_only(PacketType.PUBCOMP, pid))
            case PacketIdOnly(type=PacketType.PUBREC | PacketType.PUBCOMP):
                pass  # we never send QoS 2, so nothing waits for these
            case Subscribe():
                self._subscribe(session, packet)
            case Unsubscribe():
                for raw in packet.topics:
                    if session.policy.allows(Action.UNSUBSCRIBE, raw):
                        self._broker.router.unsubscribe(session, raw)
                self.write(encode_id_only(PacketType.UNSUBACK, packet.packet_id))
            case Bare(type=PacketType.PINGREQ):
                self.write(encode_bare(PacketType.PINGRESP))
            case _:
                raise MalformedPacket(f"unexpected packet from a client: {packet!r:.60}")

    async def _publish(self, session: Session, packet: Publish) -> None:
        try:
            check_topic_name(packet.topic)
        except TopicError as exc:
            raise MalformedPacket(f"PUBLISH to an invalid topic: {exc}") from None
        duplicate = packet.qos == 2 and packet.packet_id in session.incoming_qos2
        if not duplicate:
            if session.policy.allows(Action.PUBLISH, packet.topic):
                message = Message(packet.topic, packet.payload, packet.qos, packet.retain)
                await self._broker.publish_from_client(message)
            else:
                # MQTT 3.1.1 has no way to say "denied": the publish is acknowledged and
                # dropped, as Mosquitto does.
                log.info(
                    "denied: %s (%s) publishing to %s", self.username, self.client_id, packet.topic
                )
        if packet.qos == 1 and packet.packet_id is not None:
            self.write(encode_id_only(PacketType.PUBACK, packet.packet_id))
        elif packet.qos == 2 and packet.packet_id is not None:
            session.incoming_qos2.add(packet.packet_id)
            self.write(encode_id_only(PacketType.PUBREC, packet.packet_id))

    def _subscribe(self, session: Session, packet: Subscribe) -> None:
        codes: list[int] = []
        granted = []
        for raw, qos in packet.topics:
            try:
                spec = parse_subscription(raw)
            except TopicError:
                codes.append(SUBACK_FAILURE)
                continue
            # Judged on the whole filter, $share prefix included, as Mosquitto does: a
            # shared subscription needs an ACL entry of its own.
            if not session.policy.allows(Action.SUBSCRIBE, raw):
                log.info("denied: %s (%s) subscribing to %s", self.username, self.client_id, raw)
                codes.append(SUBACK_FAILURE)
                continue
            qos_granted = self._broker.router.subscribe(session, raw, spec, qos)
            codes.append(qos_granted)
            granted.append((spec, qos_granted))
        self.write(encode_suback(packet.packet_id, codes))
        self._broker.router.retained_for(session, granted)
