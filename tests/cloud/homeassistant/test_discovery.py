"""The discovery messages of a printer and the reading of button presses, without a broker."""

from __future__ import annotations

import json

import pytest

from cloud.homeassistant.discovery import (
    Ignored,
    Press,
    PrinterInfo,
    entity_configs,
    org_of_config_topic,
    parse_press,
    removals,
)
from shared.enums import PrinterAction

PRINTER = PrinterInfo(
    org_id="org_a",
    agent_id="agt_1",
    printer_id="prt_1",
    name="MK4 left",
    model="Prusa MK4",
    firmware="Marlin 2.1.2",
)
COMMAND = "apf/org_a/ha/printers/prt_1/command"


def configs() -> dict[str, dict[str, object]]:
    return {topic: json.loads(payload) for topic, payload in entity_configs(PRINTER)}


def test_every_entity_of_a_printer_has_its_topic_unique_id_and_device() -> None:
    found = configs()
    assert sorted(found) == sorted(
        f"homeassistant/{component}/apf_org_a/prt_1_{key}/config"
        for component, key in (
            ("sensor", "status"),
            ("sensor", "progress"),
            ("sensor", "remaining"),
            ("sensor", "hotend"),
            ("sensor", "bed"),
            ("sensor", "job"),
            ("binary_sensor", "connected"),
            ("button", "pause"),
            ("button", "resume"),
            ("button", "cancel"),
        )
    )
    for topic, config in found.items():
        key = topic.split("/")[3].removeprefix("prt_1_")
        assert config["unique_id"] == f"apf_prt_1_{key}"
        assert config["device"] == {
            "identifiers": ["apf_prt_1"],
            "name": "MK4 left",
            "manufacturer": "AutoPrintFarm",
            "model": "Prusa MK4",
            "sw_version": "Marlin 2.1.2",
        }


def test_sensors_read_the_agents_state_and_buttons_publish_to_the_cloud() -> None:
    found = configs()
    state = "apf/org_a/agents/agt_1/printers/prt_1/state"
    hotend = found["homeassistant/sensor/apf_org_a/prt_1_hotend/config"]
    assert hotend["state_topic"] == state
    assert (hotend["device_class"], hotend["unit_of_measurement"]) == ("temperature", "°C")
    progress = found["homeassistant/sensor/apf_org_a/prt_1_progress/config"]
    assert progress["unit_of_measurement"] == "%"
    remaining = found["homeassistant/sensor/apf_org_a/prt_1_remaining/config"]
    assert (remaining["device_class"], remaining["unit_of_measurement"]) == ("duration", "s")
    pause = found["homeassistant/button/apf_org_a/prt_1_pause/config"]
    assert pause["command_topic"] == COMMAND
    assert (pause["payload_press"], pause["retain"]) == ("pause", False)
    assert "state_topic" not in pause


def test_availability_needs_the_agent_online_and_the_printer_connected() -> None:
    found = configs()
    agent = {
        "topic": "apf/org_a/agents/agt_1/status",
        "value_template": "{{ value_json.state }}",
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    status = found["homeassistant/sensor/apf_org_a/prt_1_status/config"]
    assert status["availability_mode"] == "all"
    assert status["availability"] == [
        agent,
        {
            "topic": "apf/org_a/agents/agt_1/printers/prt_1/state",
            "value_template": "{{ 'online' if value_json.connected else 'offline' }}",
            "payload_available": "online",
            "payload_not_available": "offline",
        },
    ]
    # Unplugged shows as "off", not "unavailable": the connectivity sensor needs its agent only.
    connected = found["homeassistant/binary_sensor/apf_org_a/prt_1_connected/config"]
    assert connected["availability"] == [agent]
    assert connected["device_class"] == "connectivity"


def test_a_printer_without_model_or_firmware_leaves_them_out() -> None:
    bare = PrinterInfo(org_id="org_a", agent_id="agt_1", printer_id="prt_2", name="x")
    config = json.loads(entity_configs(bare)[0][1])
    assert config["device"] == {
        "identifiers": ["apf_prt_2"],
        "name": "x",
        "manufacturer": "AutoPrintFarm",
    }


def test_removal_is_an_empty_payload_on_every_config_topic() -> None:
    gone = removals("org_a", "prt_1")
    assert sorted(t for t, _ in gone) == sorted(configs())
    assert {p for _, p in gone} == {b""}


def test_only_our_config_topics_are_recognised() -> None:
    assert org_of_config_topic("homeassistant/sensor/apf_org_a/prt_1_bed/config") == "org_a"
    assert org_of_config_topic("homeassistant/sensor/tasmota_1/temp/config") is None
    assert org_of_config_topic("homeassistant/sensor/apf_org_a/config") is None


@pytest.mark.parametrize(
    ("payload", "action"),
    [
        (b"pause", PrinterAction.PAUSE),
        (b"resume", PrinterAction.RESUME),
        (b"cancel", PrinterAction.CANCEL),
        (b" Pause\n", PrinterAction.PAUSE),
    ],
)
def test_the_three_presses_are_read(payload: bytes, action: PrinterAction) -> None:
    assert parse_press(COMMAND, payload) == Press("org_a", "prt_1", action)


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (COMMAND, b"G28"),
        (COMMAND, b"home"),
        (COMMAND, b"cooldown"),
        (COMMAND, b""),
        (COMMAND, b"\xff\xfe"),
        (COMMAND, b'{"action": "pause"}'),
        ("apf/org_a/ha/printers/prt_1/other", b"pause"),
        ("apf/org a/ha/printers/prt_1/command", b"pause"),
        ("apf/org_a/agents/agt_1/commands", b"pause"),
    ],
)
def test_anything_else_is_ignored_with_a_reason(topic: str, payload: bytes) -> None:
    result = parse_press(topic, payload)
    assert isinstance(result, Ignored) and result.reason
