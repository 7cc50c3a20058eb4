"""The MQTT wire contract: every message round-trips, bad payloads fail with one error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from shared import wire
from shared.enums import AgentState, ErrorCode, PrinterStatus
from shared.wire import (
    AgentStatus,
    BambuConnection,
    CommandReply,
    DesiredConfig,
    JobCompletedEvent,
    JobFailedEvent,
    JobState,
    OctoPrintConnection,
    PrinterConfig,
    PrinterState,
    RawGcode,
    SerialConnection,
    StartJob,
    Telemetry,
    Temperatures,
    TopicError,
    TopicKind,
    WireDecodeError,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SHA = "a" * 64

SAMPLES = [
    (
        wire.decode_agent_status,
        AgentStatus(state=AgentState.ONLINE, session=3, agent_version="0.1", ts=NOW),
    ),
    (
        wire.decode_printer_state,
        PrinterState(
            printer_id="prt_1",
            status=PrinterStatus.PRINTING,
            connected=True,
            ts=NOW,
            firmware="Marlin 2.1.2",
            temperatures=Temperatures(hotend=215.0, hotend_target=215.0, bed=60.0),
            job=JobState(job_id="job_1", progress=45.0, elapsed_s=3240, remaining_s=3960),
        ),
    ),
    (
        wire.decode_telemetry,
        Telemetry(printer_id="prt_1", ts=NOW, temperatures=Temperatures(bed=20.5)),
    ),
    (
        wire.decode_event,
        JobCompletedEvent(
            event_id="ev1", seq=7, ts=NOW, printer_id="prt_1", job_id="job_1", duration_s=12.5
        ),
    ),
    (
        wire.decode_reply,
        CommandReply(
            command_id="cmd_1", ok=False, ts=NOW, error=ErrorCode.PRINTER_BUSY, message="printing"
        ),
    ),
    (
        wire.decode_config,
        DesiredConfig(
            agent_id="agt_1",
            revision=4,
            printers=[
                PrinterConfig(
                    printer_id="prt_1", name="A", connection=SerialConnection(port="/dev/ttyACM0")
                ),
                PrinterConfig(
                    printer_id="prt_2",
                    name="B",
                    connection=OctoPrintConnection(url="http://op", api_key="k"),
                ),
                PrinterConfig(
                    printer_id="prt_3",
                    name="C",
                    connection=BambuConnection(
                        host="192.168.1.40", serial="01S00A123456789", access_code="12345678"
                    ),
                ),
            ],
        ),
    ),
    (
        wire.decode_command,
        StartJob(
            command_id="cmd_2",
            printer_id="prt_1",
            issued_at=NOW,
            expires_at=NOW + timedelta(minutes=5),
            job_id="job_1",
            file_url="http://cloud/v1/files/f?sig=x",
            sha256=SHA,
            size_bytes=10,
        ),
    ),
    (wire.decode_ack, wire.EventAck(applied_seq=42, resend=True)),
    (wire.decode_config, DesiredConfig(agent_id="agt_1", revision=5, event_acks=True)),
    (
        wire.decode_command,
        RawGcode(
            command_id="cmd_3", printer_id="prt_1", issued_at=NOW, expires_at=NOW, lines=["G28"]
        ),
    ),
]


@pytest.mark.parametrize(("decode", "message"), SAMPLES, ids=lambda v: type(v).__name__)
def test_every_message_round_trips(
    decode: wire.codec._Decoder[object], message: msgspec.Struct
) -> None:
    assert decode(wire.encode(message)) == message


def test_tagged_unions_carry_their_tag_on_the_wire() -> None:
    event = JobFailedEvent(
        event_id="e", seq=1, ts=NOW, printer_id="p", job_id="j", reason="unplugged"
    )
    assert msgspec.json.decode(wire.encode(event))["type"] == "job.failed"
    cmd = SAMPLES[-1][1]
    assert msgspec.json.decode(wire.encode(cmd))["command"] == "gcode"


def test_a_bambu_connection_round_trips_with_its_defaults_and_hides_its_access_code() -> None:
    pinned = BambuConnection(
        host="x1c.local",
        serial="00M09A350100123",
        access_code="ab12CD34",
        mqtt_port=18883,
        ftps_port=10990,
        fingerprint="ab" * 32,
    )
    bare = BambuConnection(host="192.168.1.40", serial="01S00A123456789", access_code="1234")
    for conn in (pinned, bare):
        config = DesiredConfig(
            agent_id="agt_1",
            revision=1,
            printers=[PrinterConfig(printer_id="prt_1", name="X1C", connection=conn)],
        )
        assert wire.decode_config(wire.encode(config)).printers[0].connection == conn
    raw = msgspec.json.decode(wire.encode(bare))
    assert raw == {
        "kind": "bambu",
        "host": "192.168.1.40",
        "serial": "01S00A123456789",
        "access_code": "1234",
        "mqtt_port": 8883,
        "ftps_port": 990,
        "fingerprint": None,
    }
    assert "ab12CD34" not in repr(pinned) and "00M09A350100123" in repr(pinned)


def test_unknown_fields_are_ignored_so_newer_peers_still_talk() -> None:
    raw = msgspec.json.decode(wire.encode(SAMPLES[0][1]))
    raw["added_in_a_later_version"] = {"x": 1}
    assert wire.decode_agent_status(msgspec.json.encode(raw)) == SAMPLES[0][1]


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b"", "truncated"),
        (b"\xff\xfe", "malformed"),
        (b"[1,2]", "Expected `object`"),
        (b'{"state":"online"}', "missing required field"),
        (
            b'{"state":"sideways","session":1,"agent_version":"x","ts":"2026-01-01T00:00:00Z"}',
            "state",
        ),
        (
            b'{"state":"online","session":-1,"agent_version":"x","ts":"2026-01-01T00:00:00Z"}',
            "session",
        ),
        (b'{"state":"online","session":1,"agent_version":"x","ts":"2026-01-01T00:00:00"}', "ts"),
    ],
)
def test_malformed_payloads_raise_one_typed_error_naming_the_problem(
    payload: bytes, needle: str
) -> None:
    with pytest.raises(WireDecodeError) as info:
        wire.decode_agent_status(payload)
    assert needle in str(info.value)
    assert info.value.what == "status"


def test_unknown_command_kind_is_a_decode_error() -> None:
    with pytest.raises(WireDecodeError, match="command"):
        wire.decode_command(b'{"command":"self_destruct","command_id":"c"}')


def test_newer_schema_version_is_refused_with_advice() -> None:
    raw = msgspec.json.decode(wire.encode(SAMPLES[0][1]))
    raw["schema_version"] = wire.SCHEMA_VERSION + 1
    with pytest.raises(WireDecodeError, match="upgrade"):
        wire.decode_agent_status(msgspec.json.encode(raw))


def test_id_fields_reject_topic_wildcards() -> None:
    raw = msgspec.json.decode(wire.encode(SAMPLES[2][1]))
    raw["printer_id"] = "prt/+"
    with pytest.raises(WireDecodeError, match="printer_id"):
        wire.decode_telemetry(msgspec.json.encode(raw))


def test_topic_builders_and_parser_agree() -> None:
    cases = [
        (wire.status_topic("org_1", "agt_1"), TopicKind.STATUS, None),
        (wire.events_topic("org_1", "agt_1"), TopicKind.EVENTS, None),
        (wire.config_topic("org_1", "agt_1"), TopicKind.CONFIG, None),
        (wire.commands_topic("org_1", "agt_1"), TopicKind.COMMANDS, None),
        (wire.replies_topic("org_1", "agt_1"), TopicKind.REPLIES, None),
        (wire.acks_topic("org_1", "agt_1"), TopicKind.ACKS, None),
        (wire.printer_state_topic("org_1", "agt_1", "prt_9"), TopicKind.PRINTER_STATE, "prt_9"),
        (wire.telemetry_topic("org_1", "agt_1", "prt_9"), TopicKind.TELEMETRY, "prt_9"),
    ]
    for topic, kind, printer in cases:
        assert topic.startswith("apf/org_1/agents/agt_1/")
        parsed = wire.parse_topic(topic)
        assert (parsed.org_id, parsed.agent_id, parsed.kind, parsed.printer_id) == (
            "org_1",
            "agt_1",
            kind,
            printer,
        )
    assert wire.printer_state_topic("o", "a", "p") == "apf/o/agents/a/printers/p/state"


@pytest.mark.parametrize(
    "topic",
    [
        "apf/o/agents/a",
        "x/o/agents/a/status",
        "apf/o/agents/a/bogus",
        "apf/o/agents/a/printers/p/bogus",
        "apf/o/agents/a/printers/p",
        "apf/+/agents/a/status",
        "apf/o/robots/a/status",
    ],
)
def test_parser_rejects_topics_outside_the_contract(topic: str) -> None:
    with pytest.raises(TopicError):
        wire.parse_topic(topic)


@pytest.mark.parametrize("bad", ["", "a/b", "+", "#", "$SYS", "x" * 65, "sp ace"])
def test_builders_reject_ids_that_would_break_the_tree(bad: str) -> None:
    with pytest.raises(TopicError):
        wire.status_topic(bad, "agt")
    with pytest.raises(TopicError):
        wire.printer_state_topic("org", "agt", bad)


def test_subscriptions_match_every_agent_and_can_be_shared() -> None:
    assert wire.subscription(TopicKind.EVENTS) == "apf/+/agents/+/events"
    assert (
        wire.subscription(TopicKind.PRINTER_STATE, org_id="org_1")
        == "apf/org_1/agents/+/printers/+/state"
    )
    assert (
        wire.subscription(TopicKind.STATUS, shared_group="cloud")
        == "$share/cloud/apf/+/agents/+/status"
    )


def test_an_older_clouds_config_says_nothing_of_acks_and_an_ack_cannot_go_negative() -> None:
    # What a cloud before event acknowledgements publishes: no "event_acks" field.
    old = b'{"schema_version": 1, "agent_id": "agt_1", "revision": 3, "printers": []}'
    assert wire.decode_config(old).event_acks is False
    assert wire.decode_ack(b'{"schema_version": 1, "applied_seq": 7}').resend is False
    with pytest.raises(WireDecodeError, match="applied_seq"):
        wire.decode_ack(b'{"schema_version": 1, "applied_seq": -1}')


def _config_with_a_printer_of_a_later_version() -> dict[str, object]:
    good = {"printer_id": "prt_a", "name": "a", "connection": {"kind": "serial", "port": "/x"}}
    later = {"printer_id": "prt_b", "name": "b", "connection": {"kind": "duet", "u": "y"}}
    return {"schema_version": 1, "agent_id": "agt_1", "revision": 7, "printers": [good, later]}


def test_a_config_printer_this_version_cannot_read_is_left_out_not_the_config() -> None:
    payload = msgspec.json.encode(_config_with_a_printer_of_a_later_version())
    with pytest.raises(WireDecodeError):
        wire.decode_config(payload)  # the strict decoder refuses the whole message
    config, unreadable = wire.decode_config_leniently(payload)
    assert config.revision == 7 and [p.printer_id for p in config.printers] == ["prt_a"]
    assert [u.printer_id for u in unreadable] == ["prt_b"]
    assert "duet" in unreadable[0].reason


def test_lenient_config_decoding_is_strict_about_everything_else() -> None:
    raw = _config_with_a_printer_of_a_later_version()
    del raw["agent_id"]
    with pytest.raises(WireDecodeError, match="agent_id"):
        wire.decode_config_leniently(msgspec.json.encode(raw))
    with pytest.raises(WireDecodeError):
        wire.decode_config_leniently(b"not json")
    raw = _config_with_a_printer_of_a_later_version()
    raw["printers"] = [{"name": "no id", "connection": {"kind": "serial", "port": "/x"}}]
    config, unreadable = wire.decode_config_leniently(msgspec.json.encode(raw))
    assert config.printers == [] and unreadable[0].printer_id is None
