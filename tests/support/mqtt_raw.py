"""A byte-exact MQTT 3.1.1 client for tests that must see codes and timings a library hides
(CONNACK return codes, SUBACK failures, what a silent client leads to)."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

from shared.mqtt.packets import (
    Connack,
    Connect,
    Packet,
    PacketReader,
    PacketType,
    Publish,
    Suback,
    Will,
    encode_bare,
    encode_connect,
    encode_id_only,
    encode_publish,
    encode_subscribe,
)

TIMEOUT_S = 10.0


@dataclass
class RawClient:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    packets: PacketReader

    @classmethod
    async def open(cls, host: str, port: int, tls: ssl.SSLContext | None = None) -> RawClient:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=tls), TIMEOUT_S
        )
        return cls(reader, writer, PacketReader())

    async def connect(
        self,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        *,
        clean: bool = True,
        keepalive_s: int = 60,
        will: Will | None = None,
        level: int = 4,
    ) -> Connack:
        self.writer.write(
            encode_connect(
                Connect(
                    "MQTT",
                    level,
                    client_id,
                    clean,
                    keepalive_s,
                    username,
                    password.encode() if password is not None else None,
                    will,
                )
            )
        )
        packet = await self.next_packet()
        assert isinstance(packet, Connack), packet
        return packet

    async def next_packet(self, timeout_s: float = TIMEOUT_S) -> Packet | None:
        """The next packet, or None if the broker closed the connection."""
        async with asyncio.timeout(timeout_s):
            while (packet := self.packets.next_packet()) is None:
                data = await self.reader.read(65536)
                if not data:
                    return None
                self.packets.feed(data)
        return packet

    async def subscribe(self, *filters: tuple[str, int], packet_id: int = 1) -> list[int]:
        self.writer.write(encode_subscribe(packet_id, list(filters)))
        while True:
            packet = await self.next_packet()
            if isinstance(packet, Suback):
                return packet.codes
            assert packet is not None, "closed while waiting for SUBACK"

    async def publish(
        self, topic: str, payload: bytes, qos: int = 0, retain: bool = False, packet_id: int = 1
    ) -> None:
        self.writer.write(
            encode_publish(topic, payload, qos, retain=retain, packet_id=packet_id if qos else None)
        )
        await self.writer.drain()

    async def next_publish(self, timeout_s: float = TIMEOUT_S) -> Publish:
        while True:
            packet = await self.next_packet(timeout_s)
            assert packet is not None, "closed while waiting for a PUBLISH"
            if isinstance(packet, Publish):
                if packet.qos == 1 and packet.packet_id is not None:
                    self.writer.write(encode_id_only(PacketType.PUBACK, packet.packet_id))
                return packet

    async def wait_closed(self, timeout_s: float = TIMEOUT_S) -> list[Packet]:
        """Read until the broker closes the connection (TimeoutError if it does not)."""
        seen: list[Packet] = []
        try:
            while (packet := await self.next_packet(timeout_s)) is not None:
                seen.append(packet)
        except (ConnectionError, OSError):
            pass
        return seen

    def disconnect(self) -> None:
        self.writer.write(encode_bare(PacketType.DISCONNECT))
        self.writer.close()

    def drop(self) -> None:
        """Close the socket without DISCONNECT: a crash or a pulled cable."""
        self.writer.transport.abort()
