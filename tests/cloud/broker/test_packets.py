"""The packet codec: what clients send is read back exactly; what breaks the protocol is
refused with a reason, never with another exception."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.mqtt.packets import (
    Bare,
    Connack,
    Connect,
    ConnectCode,
    MalformedPacket,
    PacketIdOnly,
    PacketReader,
    PacketType,
    Publish,
    Suback,
    Subscribe,
    Unsubscribe,
    Will,
    encode_bare,
    encode_connack,
    encode_connect,
    encode_id_only,
    encode_publish,
    encode_suback,
    encode_subscribe,
    encode_unsubscribe,
)


def read_all(data: bytes, chunk: int = 1) -> list[object]:
    """Feed ``data`` in chunks of ``chunk`` bytes, as a slow network would."""
    reader = PacketReader()
    out: list[object] = []
    for i in range(0, len(data), chunk):
        reader.feed(data[i : i + chunk])
        while (packet := reader.next_packet()) is not None:
            out.append(packet)
    return out


def test_every_packet_type_round_trips_even_a_byte_at_a_time() -> None:
    connect = Connect(
        "MQTT",
        4,
        "agt_1",
        False,
        30,
        "agt_1",
        b"pw",
        Will("apf/o/agents/a/status", b'{"online":false}', 1, True),
    )
    packets = [
        connect,
        Connack(True, ConnectCode.ACCEPTED),
        Publish("a/b", b"x" * 300, 1, True, False, 7),
        Publish("a/b", b"", 0),
        PacketIdOnly(PacketType.PUBACK, 7),
        PacketIdOnly(PacketType.PUBREL, 9),
        Subscribe(3, [("a/+", 1), ("$share/g/a/#", 0)]),
        Suback(3, [1, 0x80]),
        Unsubscribe(4, ["a/+"]),
        Bare(PacketType.PINGREQ),
        Bare(PacketType.DISCONNECT),
    ]
    wire = b"".join(
        [
            encode_connect(connect),
            encode_connack(True, ConnectCode.ACCEPTED),
            encode_publish("a/b", b"x" * 300, 1, retain=True, packet_id=7),
            encode_publish("a/b", b"", 0),
            encode_id_only(PacketType.PUBACK, 7),
            encode_id_only(PacketType.PUBREL, 9),
            encode_subscribe(3, [("a/+", 1), ("$share/g/a/#", 0)]),
            encode_suback(3, [1, 0x80]),
            encode_unsubscribe(4, ["a/+"]),
            encode_bare(PacketType.PINGREQ),
            encode_bare(PacketType.DISCONNECT),
        ]
    )
    assert read_all(wire) == packets
    assert read_all(wire, chunk=4096) == packets


def test_an_mqtt5_connect_is_read_far_enough_to_answer_bad_protocol_version() -> None:
    # MQTT 5 CONNECT: properties follow the keep-alive; we stop before them.
    body = b"\x00\x04MQTT\x05\x02\x00\x3c\x00" + b"\x00\x01x"
    packet = read_all(bytes((0x10, len(body))) + body)[0]
    assert isinstance(packet, Connect) and packet.protocol_level == 5


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"\x00\x00", "reserved packet type"),
        (b"\xf0\x00", "reserved packet type"),
        (b"\x80\x06\x00\x01\x00\x01a\x01", "fixed-header flags"),  # SUBSCRIBE without 0b0010
        (b"\x36\x05\x00\x01a\x00\x01", "QoS 3"),
        (b"\x38\x03\x00\x01a", "DUP set on a QoS 0"),
        (b"\x32\x03\x00\x01a", "packet ends inside a field"),  # QoS 1 without an id
        (b"\x32\x05\x00\x01a\x00\x00", "packet identifier 0"),
        (b"\x30\x04\x00\x02\xff\xfe", "not valid UTF-8"),
        (b"\x30\x04\x00\x02a\x00", "U+0000"),
        (b"\x82\x02\x00\x01", "without a topic filter"),
        (b"\x82\x06\x00\x01\x00\x01a\x03", "requested QoS"),
        (b"\xc0\x01\x00", "left over"),
        (b"\x30\xff\xff\xff\xff\x01", "longer than four bytes"),
        (b"\x10\x0c\x00\x04XMPP\x04\x02\x00\x3c\x00\x00", "unknown protocol name"),
        (b"\x10\x0c\x00\x04MQTT\x04\x03\x00\x3c\x00\x00", "reserved flag"),
        (b"\x10\x0c\x00\x04MQTT\x04\x42\x00\x3c\x00\x00", "password without user name"),
        (b"\x10\x0c\x00\x04MQTT\x04\x0a\x00\x3c\x00\x00", "will QoS or retain set without a will"),
    ],
)
def test_protocol_violations_are_malformed_with_a_reason(wire: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacket, match=re.escape(reason)):
        read_all(wire, chunk=len(wire))


def test_a_packet_over_the_limit_is_refused_before_its_body_arrives() -> None:
    reader = PacketReader(max_packet_bytes=1000)
    reader.feed(b"\x30\xe9\x07")  # claims 1001 bytes; none of them sent
    with pytest.raises(MalformedPacket, match="over the 1000 byte limit"):
        reader.next_packet()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_packets_or_malformed_never_another_error(data: bytes) -> None:
    reader = PacketReader(max_packet_bytes=512)
    reader.feed(data)
    try:
        while reader.next_packet() is not None:
            pass
    except MalformedPacket:
        pass
