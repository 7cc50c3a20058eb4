"""MQTT 3.1.1 control packets: a sans-I/O reader and the encoders.

`PacketReader` takes bytes as they arrive (``feed``) and gives whole, checked packets
(``next_packet``); it never touches a socket. Everything a peer can get wrong raises
`MalformedPacket`, after which the connection must be closed (MQTT 3.1.1 §4.8: "the
receiver MUST close the Network Connection" on a protocol violation). The encoders build
the bytes of each packet, for both directions, so tests can speak to the broker with the
same code the broker reads with.

Facts relied on (OASIS MQTT 3.1.1, 2014): the fixed header's first byte is type << 4 |
flags (§2.2); the Remaining Length is a base-128 varint of at most four bytes (§2.2.3);
PUBREL, SUBSCRIBE and UNSUBSCRIBE carry the flags 0b0010 and every other type but PUBLISH
carries 0 (§2.2.2); strings are a u16 length then UTF-8 without U+0000 (§1.5.3).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum


class MalformedPacket(Exception):
    """The peer broke the protocol; the message says how (for the log, never the peer)."""


class PacketType(IntEnum):
    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14


class ConnectCode(IntEnum):
    """CONNACK return codes (§3.2.2.3)."""

    ACCEPTED = 0
    BAD_PROTOCOL_VERSION = 1
    IDENTIFIER_REJECTED = 2
    SERVER_UNAVAILABLE = 3
    BAD_CREDENTIALS = 4
    NOT_AUTHORIZED = 5


SUBACK_FAILURE = 0x80
# Protocol names and levels we speak: MQTT 3.1.1 and its predecessor 3.1.
PROTOCOLS = {("MQTT", 4), ("MQIsdp", 3)}
_FLAGS_0010 = {PacketType.PUBREL, PacketType.SUBSCRIBE, PacketType.UNSUBSCRIBE}
_MAX_REMAINING = 268_435_455  # four varint bytes


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True, slots=True)
class Connect:
    protocol_name: str
    protocol_level: int
    client_id: str
    clean_session: bool
    keepalive_s: int
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None


@dataclass(frozen=True, slots=True)
class Connack:
    session_present: bool
    code: ConnectCode


@dataclass(frozen=True, slots=True)
class Publish:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int | None = None


@dataclass(frozen=True, slots=True)
class PacketIdOnly:
    """PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK: a type and a packet identifier."""

    type: PacketType
    packet_id: int


@dataclass(frozen=True, slots=True)
class Subscribe:
    packet_id: int
    # (topic filter, requested QoS); unchecked here: the broker judges each filter.
    topics: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Suback:
    packet_id: int
    codes: list[int]


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    packet_id: int
    topics: list[str]


@dataclass(frozen=True, slots=True)
class Bare:
    """PINGREQ, PINGRESP and DISCONNECT: a type and nothing else."""

    type: PacketType


Packet = Connect | Connack | Publish | PacketIdOnly | Subscribe | Suback | Unsubscribe | Bare


class _Cursor:
    """Reads the variable header and payload of one packet; every overrun is malformed."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def u8(self) -> int:
        if self.remaining < 1:
            raise MalformedPacket("packet ends inside a field")
        value = self._data[self._pos]
        self._pos += 1
        return value

    def u16(self) -> int:
        if self.remaining < 2:
            raise MalformedPacket("packet ends inside a field")
        value: int = struct.unpack_from("!H", self._data, self._pos)[0]
        self._pos += 2
        return value

    def binary(self) -> bytes:
        size = self.u16()
        if self.remaining < size:
            raise MalformedPacket("a length field runs past the end of the packet")
        value = self._data[self._pos : self._pos + size]
        self._pos += size
        return value

    def string(self) -> str:
        raw = self.binary()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPacket("a string is not valid UTF-8") from None
        if "\x00" in text:
            raise MalformedPacket("a string contains U+0000")
        return text

    def rest(self) -> bytes:
        value = self._data[self._pos :]
        self._pos = len(self._data)
        return value

    def packet_id(self) -> int:
        value = self.u16()
        if value == 0:
            raise MalformedPacket("packet identifier 0")
        return value

    def end(self) -> None:
        if self.remaining:
            raise MalformedPacket("bytes left over after the last field")


def _parse_connect(cur: _Cursor) -> Connect:
    name = cur.string()
    level = cur.u8()
    flags = cur.u8()
    if flags & 0x01:
        raise MalformedPacket("CONNECT reserved flag set")
    keepalive_s = cur.u16()
    if (name, level) not in PROTOCOLS and name in ("MQTT", "MQIsdp"):
        # Known name, other level: the caller answers "unacceptable protocol version".
        return Connect(name, level, "", True, keepalive_s)
    if name not in ("MQTT", "MQIsdp"):
        raise MalformedPacket(f"unknown protocol name {name!r}")
    will_flag = bool(flags & 0x04)
    will_qos = (flags >> 3) & 0x03
    will_retain = bool(flags & 0x20)
    if not will_flag and (will_qos or will_retain):
        raise MalformedPacket("will QoS or retain set without a will")
    if will_qos == 3:
        raise MalformedPacket("will QoS 3")
    has_user, has_password = bool(flags & 0x80), bool(flags & 0x40)
    if has_password and not has_user:
        raise MalformedPacket("password without user name")
    client_id = cur.string()
    will = None
    if will_flag:
        will = Will(cur.string(), cur.binary(), will_qos, will_retain)
    username = cur.string() if has_user else None
    password = cur.binary() if has_password else None
    cur.end()
    return Connect(
        protocol_name=name,
        protocol_level=level,
        client_id=client_id,
        clean_session=bool(flags & 0x02),
        keepalive_s=keepalive_s,
        username=username,
        password=password,
        will=will,
    )


def _parse_publish(flags: int, cur: _Cursor) -> Publish:
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise MalformedPacket("PUBLISH with QoS 3")
    dup = bool(flags & 0x08)
    if qos == 0 and dup:
        raise MalformedPacket("DUP set on a QoS 0 PUBLISH")
    topic = cur.string()
    packet_id = cur.packet_id() if qos else None
    return Publish(topic, cur.rest(), qos, bool(flags & 0x01), dup, packet_id)


def _parse_subscribe(cur: _Cursor) -> Subscribe:
    packet_id = cur.packet_id()
    topics: list[tuple[str, int]] = []
    while cur.remaining:
        topic = cur.string()
        options = cur.u8()
        if options & 0xFC or options & 0x03 == 3:
            raise MalformedPacket("SUBSCRIBE requested QoS byte is not 0, 1 or 2")
        topics.append((topic, options))
    if not topics:
        raise MalformedPacket("SUBSCRIBE without a topic filter")
    return Subscribe(packet_id, topics)


def _parse_unsubscribe(cur: _Cursor) -> Unsubscribe:
    packet_id = cur.packet_id()
    topics: list[str] = []
    while cur.remaining:
        topics.append(cur.string())
    if not topics:
        raise MalformedPacket("UNSUBSCRIBE without a topic filter")
    return Unsubscribe(packet_id, topics)


def _parse_suback(cur: _Cursor) -> Suback:
    packet_id = cur.packet_id()
    codes = list(cur.rest())
    if not codes:
        raise MalformedPacket("SUBACK without return codes")
    return Suback(packet_id, codes)


def parse_packet(first_byte: int, body: bytes) -> Packet:
    """One packet from its first byte and its body (everything after the length)."""
    try:
        kind = PacketType(first_byte >> 4)
    except ValueError:
        raise MalformedPacket(f"reserved packet type {first_byte >> 4}") from None
    flags = first_byte & 0x0F
    if kind is not PacketType.PUBLISH and flags != (0x02 if kind in _FLAGS_0010 else 0):
        raise MalformedPacket(f"{kind.name} with fixed-header flags {flags:#06b}")
    cur = _Cursor(body)
    packet: Packet
    match kind:
        case PacketType.CONNECT:
            packet = _parse_connect(cur)
        case PacketType.PUBLISH:
            packet = _parse_publish(flags, cur)
        case PacketType.SUBSCRIBE:
            packet = _parse_subscribe(cur)
        case PacketType.UNSUBSCRIBE:
            packet = _parse_unsubscribe(cur)
        case PacketType.SUBACK:
            packet = _parse_suback(cur)
        case PacketType.CONNACK:
            ack_flags, code = cur.u8(), cur.u8()
            cur.end()
            if ack_flags & 0xFE:
                raise MalformedPacket("CONNACK reserved flags set")
            try:
                packet = Connack(bool(ack_flags & 1), ConnectCode(code))
            except ValueError:
                raise MalformedPacket(f"CONNACK return code {code}") from None
        case (
            PacketType.PUBACK
            | PacketType.PUBREC
            | PacketType.PUBREL
            | PacketType.PUBCOMP
            | PacketType.UNSUBACK
        ):
            packet = PacketIdOnly(kind, cur.packet_id())
            cur.end()
        case PacketType.PINGREQ | PacketType.PINGRESP | PacketType.DISCONNECT:
            cur.end()
            packet = Bare(kind)
    return packet


class PacketReader:
    """Bytes in, packets out. ``max_packet_bytes`` bounds what one packet may claim."""

    def __init__(self, max_packet_bytes: int = 4 * 1024 * 1024) -> None:
        self._buffer = bytearray()
        self._max = max_packet_bytes

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_packet(self) -> Packet | None:
        """The next whole packet, or None until more bytes arrive."""
        buf = self._buffer
        if len(buf) < 2:
            return None
        length, multiplier, pos = 0, 1, 1
        while True:
            if pos >= len(buf):
                return None
            byte = buf[pos]
            length += (byte & 0x7F) * multiplier
            pos += 1
            if not byte & 0x80:
                break
            multiplier *= 128
            if pos > 4:
                raise MalformedPacket("remaining length longer than four bytes")
        if length > self._max:
            raise MalformedPacket(f"packet of {length} bytes is over the {self._max} byte limit")
        if len(buf) < pos + length:
            return None
        first = buf[0]
        body = bytes(buf[pos : pos + length])
        del buf[: pos + length]
        return parse_packet(first, body)


# --- encoders -------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n > _MAX_REMAINING:
        raise ValueError("packet too large for MQTT")
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("!H", len(raw)) + raw


def _bin(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + _length(len(body)) + body


def encode_connect(packet: Connect) -> bytes:
    flags = 0x02 if packet.clean_session else 0
    payload = _str(packet.client_id)
    if packet.will is not None:
        flags |= 0x04 | (packet.will.qos << 3) | (0x20 if packet.will.retain else 0)
        payload += _str(packet.will.topic) + _bin(packet.will.payload)
    if packet.username is not None:
        flags |= 0x80
        payload += _str(packet.username)
    if packet.password is not None:
        flags |= 0x40
        payload += _bin(packet.password)
    header = _str(packet.protocol_name) + bytes((packet.protocol_level, flags))
    header += struct.pack("!H", packet.keepalive_s)
    return _packet(PacketType.CONNECT << 4, header + payload)


def encode_connack(session_present: bool, code: ConnectCode) -> bytes:
    return bytes((PacketType.CONNACK << 4, 2, int(session_present), int(code)))


def encode_publish(
    topic: str,
    payload: bytes,
    qos: int = 0,
    *,
    retain: bool = False,
    dup: bool = False,
    packet_id: int | None = None,
) -> bytes:
    flags = (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    header = _str(topic)
    if qos:
        if packet_id is None:
            raise ValueError("a QoS 1 or 2 PUBLISH needs a packet identifier")
        header += struct.pack("!H", packet_id)
    return _packet((PacketType.PUBLISH << 4) | flags, header + payload)


def encode_id_only(kind: PacketType, packet_id: int) -> bytes:
    first = (kind << 4) | (0x02 if kind in _FLAGS_0010 else 0)
    return bytes((first, 2)) + struct.pack("!H", packet_id)


def encode_subscribe(packet_id: int, topics: list[tuple[str, int]]) -> bytes:
    body = struct.pack("!H", packet_id) + b"".join(_str(t) + bytes((q,)) for t, q in topics)
    return _packet((PacketType.SUBSCRIBE << 4) | 0x02, body)


def encode_suback(packet_id: int, codes: list[int]) -> bytes:
    return _packet(PacketType.SUBACK << 4, struct.pack("!H", packet_id) + bytes(codes))


def encode_unsubscribe(packet_id: int, topics: list[str]) -> bytes:
    body = struct.pack("!H", packet_id) + b"".join(_str(t) for t in topics)
    return _packet((PacketType.UNSUBSCRIBE << 4) | 0x02, body)


def encode_bare(kind: PacketType) -> bytes:
    return bytes((kind << 4, 0))
