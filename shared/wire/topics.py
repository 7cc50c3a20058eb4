"""The MQTT topic tree: pure builders and one parser.

Every topic lives under ``apf/{org_id}/agents/{agent_id}/`` so a broker ACL can confine an
agent to its own subtree (Mosquitto: ``pattern readwrite apf/+/agents/%u/#``) and an
organization's dashboard credentials to ``apf/{org_id}/#``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ROOT = "apf"

# IDs become topic levels: no wildcards (+ #), no separators, nothing a broker treats
# specially ($ at the start), and short enough for ACL patterns.
_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")


class TopicError(ValueError):
    """A topic or an ID that is not part of the contract."""


class TopicKind(StrEnum):
    STATUS = "status"
    PRINTER_STATE = "state"
    TELEMETRY = "telemetry"
    EVENTS = "events"
    CONFIG = "config"
    COMMANDS = "commands"
    REPLIES = "replies"
    ACKS = "acks"


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    org_id: str
    agent_id: str
    kind: TopicKind
    printer_id: str | None = None


def check_id(value: str, what: str = "id") -> str:
    if not _ID_RE.match(value):
        raise TopicError(f"{what} {value!r} must be 1-64 characters of A-Z a-z 0-9 _ -")
    return value


def agent_root(org_id: str, agent_id: str) -> str:
    return f"{ROOT}/{check_id(org_id, 'org_id')}/agents/{check_id(agent_id, 'agent_id')}"


def status_topic(org_id: str, agent_id: str) -> str:
    return f"{agent_root(org_id, agent_id)}/status"


def events_topic(org_id: str, agent_id: str) -> str:
    return f"{agent_root(org_id, agent_id)}/events"


def config_topic(org_id: str, agent_id: str) -> str:
    return f"{agent_root(org_id, agent_id)}/config"


def commands_topic(org_id: str, agent_id: str) -> str:
    return f"{agent_root(org_id, agent_id)}/commands"


def replies_topic(org_id: str, agent_id: str) -> str:
    return f"{agent_root(org_id, agent_id)}/replies"


def acks_topic(org_id: str, agent_id: str) -> str:
    return f"{agent_root(org_id, agent_id)}/acks"


def printer_state_topic(org_id: str, agent_id: str, printer_id: str) -> str:
    return f"{agent_root(org_id, agent_id)}/printers/{check_id(printer_id, 'printer_id')}/state"


def telemetry_topic(org_id: str, agent_id: str, printer_id: str) -> str:
    pid = check_id(printer_id, "printer_id")
    return f"{agent_root(org_id, agent_id)}/printers/{pid}/telemetry"


def subscription(kind: TopicKind, *, org_id: str = "+", shared_group: str | None = None) -> str:
    """A filter matching `kind` for every agent (of one org, or all orgs with ``+``).

    With ``shared_group`` the filter is a shared subscription (``$share/{group}/…``), so
    several cloud replicas split the messages instead of each receiving all of them.
    """
    if org_id != "+":
        check_id(org_id, "org_id")
    middle = "printers/+/" if kind in (TopicKind.PRINTER_STATE, TopicKind.TELEMETRY) else ""
    topic = f"{ROOT}/{org_id}/agents/+/{middle}{kind.value}"
    if shared_group is not None:
        return f"$share/{check_id(shared_group, 'shared_group')}/{topic}"
    return topic


_AGENT_KINDS = {
    k.value: k
    for k in (
        TopicKind.STATUS,
        TopicKind.EVENTS,
        TopicKind.CONFIG,
        TopicKind.COMMANDS,
        TopicKind.REPLIES,
        TopicKind.ACKS,
    )
}
_PRINTER_KINDS = {
    TopicKind.PRINTER_STATE.value: TopicKind.PRINTER_STATE,
    TopicKind.TELEMETRY.value: TopicKind.TELEMETRY,
}


def parse_topic(topic: str) -> ParsedTopic:
    """Split a concrete topic of the contract into its parts; `TopicError` otherwise."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != ROOT or parts[2] != "agents":
        raise TopicError(f"not an AutoPrintFarm agent topic: {topic!r}")
    org_id = check_id(parts[1], "org_id")
    agent_id = check_id(parts[3], "agent_id")
    if len(parts) == 5 and parts[4] in _AGENT_KINDS:
        return ParsedTopic(org_id, agent_id, _AGENT_KINDS[parts[4]])
    if len(parts) == 7 and parts[4] == "printers" and parts[6] in _PRINTER_KINDS:
        printer_id = check_id(parts[5], "printer_id")
        return ParsedTopic(org_id, agent_id, _PRINTER_KINDS[parts[6]], printer_id)
    raise TopicError(f"unknown topic under an agent: {topic!r}")
