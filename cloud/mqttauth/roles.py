"""Who may do what on the broker: the ACLs of the cloud, of each agent and of dashboards.

Pure data, in the form of the dynamic-security plugin's roles (the same on Mosquitto and
on the embedded broker). Mosquitto 2.0 substitutes no ``%u``/``%c`` in these ACLs, so each
agent gets a role of its own naming its own topics. Every role ends with a deny of
everything at the lowest priority, so what is not granted here is refused even where the
broker's default would allow it (receiving is allowed by default in dynsec).

- **agent**: publishes its ``status`` (and its Will there), ``events``, ``replies`` and its
  printers' ``state`` and ``telemetry``; subscribes to and receives exactly its ``config``,
  ``commands`` and ``acks``. Nothing of another agent or organization.
- **dashboard** (one role per organization): subscribes to and receives that
  organization's ``status``, ``state``, ``telemetry`` and ``events``. No ``config`` (printer
  secrets), ``commands`` (signed download links), ``replies``, ``acks``. For Home Assistant
  (docs/home-assistant.md) it also subscribes to the two discovery filters Home Assistant
  uses but receives only its organization's configs (their node id names the organization),
  and publishes exactly two things: Home Assistant's birth message and Will, and button
  presses on its organization's ``apf/{org}/ha/printers/+/command`` (which the cloud turns
  into pause, resume or cancel, and only while the organization has Home Assistant on).
- **cloud**: everything under ``apf/``, and the shared-subscription form of it; and the
  Home Assistant discovery configs it writes and the birth message it reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud.broker.dynsec import StoredAcl, StoredRole
from cloud.homeassistant.discovery import (
    BIRTH_TOPIC,
    CONFIG_SUBSCRIPTION,
    DISCOVERY_PREFIX,
    node_id,
)
from shared.wire import (
    acks_topic,
    agent_root,
    commands_topic,
    config_topic,
    events_topic,
    replies_topic,
    status_topic,
)
from shared.wire.topics import ROOT, check_id

CLOUD_ROLE = "apf-cloud"
AGENT_ROLE_PREFIX = "apf-agent-"
DASHBOARD_ROLE_PREFIX = "apf-dashboard-"

GRANT = 10  # what a role allows is checked before
DENY_REST = 0  # the catch-all deny


@dataclass(frozen=True, slots=True)
class Acl:
    acltype: str
    topic: str
    allow: bool
    priority: int

    def as_command_fields(self) -> dict[str, object]:
        return {
            "acltype": self.acltype,
            "topic": self.topic,
            "allow": self.allow,
            "priority": self.priority,
        }


@dataclass(frozen=True, slots=True)
class RoleSpec:
    name: str
    acls: tuple[Acl, ...]


def _grant(acltype: str, *topics: str) -> list[Acl]:
    return [Acl(acltype, topic, True, GRANT) for topic in topics]


_DENY_REST = (
    Acl("publishClientSend", "#", False, DENY_REST),
    Acl("publishClientReceive", "#", False, DENY_REST),
    Acl("subscribePattern", "#", False, DENY_REST),
)


def cloud_role() -> RoleSpec:
    everything = f"{ROOT}/#"
    return RoleSpec(
        CLOUD_ROLE,
        (
            *_grant("publishClientSend", everything, CONFIG_SUBSCRIPTION),
            *_grant("publishClientReceive", everything, CONFIG_SUBSCRIPTION, BIRTH_TOPIC),
            *_grant(
                "subscribePattern",
                everything,
                f"$share/+/{everything}",
                CONFIG_SUBSCRIPTION,
                BIRTH_TOPIC,
            ),
        ),
    )


def stored_role(role: RoleSpec) -> StoredRole:
    """A role in the embedded broker's own form (for `apf broker init` and the demo)."""
    return StoredRole(
        rolename=role.name,
        acls=[
            StoredAcl(acltype=a.acltype, topic=a.topic, allow=a.allow, priority=a.priority)
            for a in role.acls
        ],
    )


def agent_role_name(agent_id: str) -> str:
    return AGENT_ROLE_PREFIX + check_id(agent_id, "agent_id")


def agent_role(org_id: str, agent_id: str) -> RoleSpec:
    root = agent_root(org_id, agent_id)
    inbox = (
        config_topic(org_id, agent_id),
        commands_topic(org_id, agent_id),
        acks_topic(org_id, agent_id),
    )
    return RoleSpec(
        agent_role_name(agent_id),
        (
            *_grant(
                "publishClientSend",
                status_topic(org_id, agent_id),
                events_topic(org_id, agent_id),
                replies_topic(org_id, agent_id),
                f"{root}/printers/+/state",
                f"{root}/printers/+/telemetry",
            ),
            *_grant("subscribeLiteral", *inbox),
            *_grant("publishClientReceive", *inbox),
            *_DENY_REST,
        ),
    )


def dashboard_role_name(org_id: str) -> str:
    return DASHBOARD_ROLE_PREFIX + check_id(org_id, "org_id")


def dashboard_topics(org_id: str) -> tuple[str, ...]:
    """The filters a dashboard credential may subscribe to (and the docs show)."""
    agents = f"{ROOT}/{check_id(org_id, 'org_id')}/agents/+"
    return (
        f"{agents}/status",
        f"{agents}/printers/+/state",
        f"{agents}/printers/+/telemetry",
        f"{agents}/events",
    )


def home_assistant_filters() -> tuple[str, ...]:
    """The filters Home Assistant subscribes to for discovery (with its default prefix)."""
    return (f"{DISCOVERY_PREFIX}/+/+/config", CONFIG_SUBSCRIPTION)


def home_assistant_publishes(org_id: str) -> tuple[str, ...]:
    """What a dashboard login used by Home Assistant may publish: its birth message and
    Will, and its organization's button presses."""
    return (BIRTH_TOPIC, f"{ROOT}/{check_id(org_id, 'org_id')}/ha/printers/+/command")


def dashboard_role(org_id: str) -> RoleSpec:
    topics = dashboard_topics(org_id)
    own_configs = f"{DISCOVERY_PREFIX}/+/{node_id(org_id)}/+/config"
    return RoleSpec(
        dashboard_role_name(org_id),
        (
            *_grant("subscribePattern", *topics, *home_assistant_filters()),
            # Home Assistant's filters match every organization's configs; delivery is
            # narrowed to this organization's here.
            *_grant("publishClientReceive", *topics, own_configs),
            *_grant("publishClientSend", *home_assistant_publishes(org_id)),
            *_DENY_REST,
        ),
    )
