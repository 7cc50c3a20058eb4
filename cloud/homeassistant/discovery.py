"""Home Assistant MQTT discovery: a printer's entities as (topic, payload) pairs. Pure.

No broker, no database: `entity_configs` turns what the cloud knows of one printer into the
retained discovery messages Home Assistant reads, `removals` into the empty retained
messages that delete them, and `parse_press` reads a button press from Home Assistant.
docs/home-assistant.md cites Home Assistant's documentation for every field used here.

The entities read the agents' own retained topics (the printer's `state`, the agent's
`status`), so the cloud never relays state: Home Assistant subscribes to those directly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from shared.enums import PrinterAction
from shared.wire import printer_state_topic, status_topic
from shared.wire.topics import ROOT, TopicError, check_id

# Home Assistant's default discovery prefix and birth topic (its MQTT integration options).
# Fixed, not per organization: the broker ACL of each organization's login is written
# against this shape (cloud/mqttauth/roles.py), see docs/home-assistant.md.
DISCOVERY_PREFIX = "homeassistant"
BIRTH_TOPIC = f"{DISCOVERY_PREFIX}/status"
BIRTH_ONLINE = b"online"
# Every node id the cloud writes starts so, which tells our configs from anyone else's.
NODE_PREFIX = "apf_"
MANUFACTURER = "AutoPrintFarm"

# The only payloads a button publishes, and the printer action each one is.
PRESSES: dict[str, PrinterAction] = {
    "pause": PrinterAction.PAUSE,
    "resume": PrinterAction.RESUME,
    "cancel": PrinterAction.CANCEL,
}

# Templates read the agent's PrinterState JSON (docs/mqtt.md). `job` is null while idle and
# a heater the printer lacks is left out: both render None, which Home Assistant shows as
# "unknown" instead of logging a template error.
_JOB = "{% set j = value_json.job %}"
_TEMPLATES = {
    "status": "{{ value_json.status }}",
    "progress": _JOB + "{{ j.progress if j else None }}",
    "remaining": _JOB + "{{ j.remaining_s if j and j.remaining_s is not none else None }}",
    "hotend": "{{ value_json.temperatures.hotend | default(None) }}",
    "bed": "{{ value_json.temperatures.bed | default(None) }}",
    "job": _JOB + "{{ j.job_id if j else (value_json.foreign_job or None) }}",
}
_CONNECTED = "{{ 'online' if value_json.connected else 'offline' }}"


@dataclass(frozen=True, slots=True)
class PrinterInfo:
    """What the cloud knows of a printer that Home Assistant shows."""

    org_id: str
    agent_id: str
    printer_id: str
    name: str
    model: str | None = None
    firmware: str | None = None


@dataclass(frozen=True, slots=True)
class Entity:
    component: str  # Home Assistant's platform: sensor, binary_sensor, button
    key: str  # unique within a printer
    name: str
    extra: tuple[tuple[str, object], ...] = ()


_SENSORS = (
    Entity("sensor", "status", "Status", (("icon", "mdi:printer-3d"),)),
    Entity(
        "sensor",
        "progress",
        "Progress",
        (("unit_of_measurement", "%"), ("state_class", "measurement"), ("icon", "mdi:percent")),
    ),
    Entity(
        "sensor",
        "remaining",
        "Time remaining",
        (("device_class", "duration"), ("unit_of_measurement", "s")),
    ),
    Entity(
        "sensor",
        "hotend",
        "Hotend temperature",
        (
            ("device_class", "temperature"),
            ("unit_of_measurement", "°C"),
            ("state_class", "measurement"),
        ),
    ),
    Entity(
        "sensor",
        "bed",
        "Bed temperature",
        (
            ("device_class", "temperature"),
            ("unit_of_measurement", "°C"),
            ("state_class", "measurement"),
        ),
    ),
    Entity("sensor", "job", "Current job", (("icon", "mdi:file-cog"),)),
)
_CONNECTIVITY = Entity(
    "binary_sensor", "connected", "Connected", (("device_class", "connectivity"),)
)
_BUTTONS = tuple(
    Entity("button", action, action.capitalize(), (("payload_press", action),))
    for action in PRESSES
)
ENTITIES: tuple[Entity, ...] = (*_SENSORS, _CONNECTIVITY, *_BUTTONS)


def node_id(org_id: str) -> str:
    return NODE_PREFIX + check_id(org_id, "org_id")


def config_topic(entity: Entity, org_id: str, printer_id: str) -> str:
    # <discovery_prefix>/<component>/<node_id>/<object_id>/config; the node id carries the
    # organization so the broker can confine each organization's login to its own configs.
    object_id = f"{check_id(printer_id, 'printer_id')}_{entity.key}"
    return f"{DISCOVERY_PREFIX}/{entity.component}/{node_id(org_id)}/{object_id}/config"


def command_topic(org_id: str, printer_id: str) -> str:
    """Where a printer's buttons publish; the cloud subscribes to it (not an agent)."""
    org, printer = check_id(org_id, "org_id"), check_id(printer_id, "printer_id")
    return f"{ROOT}/{org}/ha/printers/{printer}/command"


COMMAND_SUBSCRIPTION = f"{ROOT}/+/ha/printers/+/command"
CONFIG_SUBSCRIPTION = f"{DISCOVERY_PREFIX}/+/+/+/config"
_COMMAND_RE = re.compile(rf"{ROOT}/([^/]+)/ha/printers/([^/]+)/command\Z")
_CONFIG_RE = re.compile(rf"{DISCOVERY_PREFIX}/[^/]+/{NODE_PREFIX}([^/]+)/[^/]+/config\Z")


def unique_id(printer_id: str, entity: Entity) -> str:
    return f"apf_{printer_id}_{entity.key}"


def _device(printer: PrinterInfo) -> dict[str, object]:
    device: dict[str, object] = {
        "identifiers": [f"apf_{printer.printer_id}"],
        "name": printer.name,
        "manufacturer": MANUFACTURER,
    }
    if printer.model:
        device["model"] = printer.model
    if printer.firmware:
        device["sw_version"] = printer.firmware
    return device


def _availability(printer: PrinterInfo, *, printer_too: bool) -> list[dict[str, str]]:
    # The agent's Will turns its `status` offline for all its printers at once; a printer's
    # own `connected` says whether its agent can talk to it (docs/mqtt.md, "State").
    agent = {
        "topic": status_topic(printer.org_id, printer.agent_id),
        "value_template": "{{ value_json.state }}",
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    if not printer_too:
        return [agent]
    state = {
        "topic": printer_state_topic(printer.org_id, printer.agent_id, printer.printer_id),
        "value_template": _CONNECTED,
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    return [agent, state]


def entity_config(printer: PrinterInfo, entity: Entity) -> dict[str, object]:
    state = printer_state_topic(printer.org_id, printer.agent_id, printer.printer_id)
    config: dict[str, object] = {
        "name": entity.name,
        "unique_id": unique_id(printer.printer_id, entity),
        "device": _device(printer),
        # The connectivity sensor is the one that must show "off" rather than "unavailable"
        # when the printer is unplugged, so it depends on its agent alone.
        "availability": _availability(printer, printer_too=entity is not _CONNECTIVITY),
        "availability_mode": "all",
    }
    if entity.component == "sensor":
        config["state_topic"] = state
        config["value_template"] = _TEMPLATES[entity.key]
    elif entity.component == "binary_sensor":
        config["state_topic"] = state
        config["value_template"] = "{{ 'ON' if value_json.connected else 'OFF' }}"
    else:
        config["command_topic"] = command_topic(printer.org_id, printer.printer_id)
        # A retained press would be replayed to every new subscriber.
        config["retain"] = False
        config["qos"] = 1
    config.update(entity.extra)
    return config


def entity_configs(printer: PrinterInfo) -> list[tuple[str, bytes]]:
    """Every discovery message of one printer: (config topic, JSON payload), retained."""
    return [
        (
            config_topic(entity, printer.org_id, printer.printer_id),
            json.dumps(entity_config(printer, entity), sort_keys=True).encode(),
        )
        for entity in ENTITIES
    ]


def config_topics(org_id: str, printer_id: str) -> list[str]:
    return [config_topic(entity, org_id, printer_id) for entity in ENTITIES]


def removals(org_id: str, printer_id: str) -> list[tuple[str, bytes]]:
    """An empty retained payload on a config topic deletes that entity in Home Assistant."""
    return [(topic, b"") for topic in config_topics(org_id, printer_id)]


def org_of_config_topic(topic: str) -> str | None:
    """The organization of a discovery topic the cloud wrote, or None for anyone else's."""
    match = _CONFIG_RE.match(topic)
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class Press:
    org_id: str
    printer_id: str
    action: PrinterAction


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


def is_command_topic(topic: str) -> bool:
    return _COMMAND_RE.match(topic) is not None


def parse_press(topic: str, payload: bytes) -> Press | Ignored:
    """A button press, or why it is not one. Only the three button payloads are accepted:
    nothing from this topic ever reaches a printer as G-code."""
    match = _COMMAND_RE.match(topic)
    if match is None:
        return Ignored("not a Home Assistant command topic")
    org_id, printer_id = match.groups()
    try:
        check_id(org_id, "org_id")
        check_id(printer_id, "printer_id")
    except TopicError as exc:
        return Ignored(str(exc))
    try:
        word = payload.decode("ascii").strip().lower()
    except UnicodeDecodeError:
        return Ignored("payload is not ASCII")
    action = PRESSES.get(word)
    if action is None:
        return Ignored(f"payload {payload[:32]!r} is none of {', '.join(PRESSES)}")
    return Press(org_id, printer_id, action)
