"""The roles the cloud gives, judged by the same ACL rules the brokers apply (the embedded
broker's engine, which follows Mosquitto's dynamic-security semantics)."""

from __future__ import annotations

import pytest

from cloud.broker.acl import DEFAULT_ACCESS, AccessPolicy, AclEntry, AclType, Action, Role
from cloud.mqttauth.roles import RoleSpec, agent_role, cloud_role, dashboard_role

ORG, OTHER_ORG = "org_a", "org_b"
AGENT, OTHER_AGENT = "agt_1", "agt_2"


def policy(spec: RoleSpec) -> AccessPolicy:
    entries = [AclEntry(AclType(a.acltype), a.topic, a.allow, a.priority) for a in spec.acls]
    return AccessPolicy([Role(spec.name, entries)], DEFAULT_ACCESS)


def root(org: str = ORG, agent: str = AGENT) -> str:
    return f"apf/{org}/agents/{agent}"


@pytest.mark.parametrize(
    ("topic", "allowed"),
    [
        (f"{root()}/status", True),
        (f"{root()}/events", True),
        (f"{root()}/replies", True),
        (f"{root()}/printers/prt_1/state", True),
        (f"{root()}/printers/prt_1/telemetry", True),
        (f"{root()}/config", False),  # written by the cloud only
        (f"{root()}/commands", False),
        (f"{root()}/acks", False),
        (f"{root(agent=OTHER_AGENT)}/status", False),
        (f"{root(agent=OTHER_AGENT)}/printers/prt_9/state", False),
        (f"{root(org=OTHER_ORG)}/events", False),
        ("apf/org_a/anything", False),
        ("$CONTROL/dynamic-security/v1", False),
    ],
)
def test_an_agent_publishes_only_its_own_reports(topic: str, allowed: bool) -> None:
    assert policy(agent_role(ORG, AGENT)).allows(Action.PUBLISH, topic) is allowed


@pytest.mark.parametrize(
    ("topic_filter", "allowed"),
    [
        (f"{root()}/config", True),
        (f"{root()}/commands", True),
        (f"{root()}/acks", True),
        (f"{root()}/#", False),
        (f"{root(agent=OTHER_AGENT)}/config", False),
        (f"{root(agent=OTHER_AGENT)}/commands", False),
        ("apf/org_a/agents/+/config", False),
        ("#", False),
        ("$CONTROL/dynamic-security/#", False),
    ],
)
def test_an_agent_subscribes_only_to_its_own_inbox(topic_filter: str, allowed: bool) -> None:
    assert policy(agent_role(ORG, AGENT)).allows(Action.SUBSCRIBE, topic_filter) is allowed


@pytest.mark.parametrize(
    ("topic_filter", "allowed"),
    [
        ("apf/org_a/agents/+/status", True),
        ("apf/org_a/agents/+/printers/+/state", True),
        ("apf/org_a/agents/agt_1/printers/+/telemetry", True),
        ("apf/org_a/agents/+/events", True),
        ("apf/org_a/agents/+/config", False),
        ("apf/org_a/agents/+/commands", False),
        ("apf/org_a/agents/+/replies", False),
        ("apf/org_a/agents/+/acks", False),
        ("apf/org_a/#", False),
        ("apf/org_a/agents/+/+", False),
        ("apf/org_b/agents/+/status", False),
        ("$share/g/apf/org_a/agents/+/status", False),
        ("#", False),
    ],
)
def test_a_dashboard_subscribes_to_its_organizations_reports_only(
    topic_filter: str, allowed: bool
) -> None:
    assert policy(dashboard_role(ORG)).allows(Action.SUBSCRIBE, topic_filter) is allowed


def test_a_dashboard_receives_no_secrets_and_publishes_only_home_assistants_messages() -> None:
    dash = policy(dashboard_role(ORG))
    for kind in ("config", "commands", "replies", "acks"):
        assert not dash.allows(Action.RECEIVE, f"{root()}/{kind}")
    assert dash.allows(Action.RECEIVE, f"{root()}/printers/prt_1/state")
    for topic in (
        f"{root()}/status",
        f"{root()}/commands",
        f"{root()}/printers/prt_1/state",
        "apf/x",
        "other",
        "apf/org_b/ha/printers/prt_1/command",  # another organization's buttons
        "apf/org_a/ha/printers/prt_1/other",
        "homeassistant/sensor/apf_org_a/prt_1_status/config",  # configs are the cloud's
        "homeassistant/other",
    ):
        assert not dash.allows(Action.PUBLISH, topic), topic
    # Home Assistant's birth message and Will, and its own organization's button presses.
    assert dash.allows(Action.PUBLISH, "homeassistant/status")
    assert dash.allows(Action.PUBLISH, "apf/org_a/ha/printers/prt_1/command")


def test_home_assistant_on_a_dashboard_login_reads_its_own_organizations_configs_only() -> None:
    dash = policy(dashboard_role(ORG))
    # The two filters Home Assistant subscribes to for discovery.
    assert dash.allows(Action.SUBSCRIBE, "homeassistant/+/+/config")
    assert dash.allows(Action.SUBSCRIBE, "homeassistant/+/+/+/config")
    assert not dash.allows(Action.SUBSCRIBE, "homeassistant/#")
    assert not dash.allows(Action.SUBSCRIBE, "homeassistant/status")
    assert dash.allows(Action.RECEIVE, "homeassistant/sensor/apf_org_a/prt_1_status/config")
    assert not dash.allows(Action.RECEIVE, "homeassistant/sensor/apf_org_b/prt_9_status/config")
    assert not dash.allows(Action.RECEIVE, "homeassistant/sensor/tasmota/x/config")
    assert not dash.allows(Action.RECEIVE, "homeassistant/status")
    assert not dash.allows(Action.RECEIVE, "apf/org_a/ha/printers/prt_1/command")


def test_the_cloud_reaches_everything_under_apf_and_shares_it_but_nothing_else() -> None:
    cloud = policy(cloud_role())
    assert cloud.allows(Action.PUBLISH, f"{root()}/commands")
    assert cloud.allows(Action.SUBSCRIBE, "$share/cloud/apf/+/agents/+/events")
    assert cloud.allows(Action.SUBSCRIBE, "apf/+/agents/+/status")
    assert not cloud.allows(Action.PUBLISH, "other/topic")
    # Home Assistant discovery: the configs it writes, and the birth message it reads.
    assert cloud.allows(Action.PUBLISH, "homeassistant/sensor/apf_org_a/prt_1_status/config")
    assert cloud.allows(Action.SUBSCRIBE, "homeassistant/+/+/+/config")
    assert cloud.allows(Action.SUBSCRIBE, "homeassistant/status")
    assert cloud.allows(Action.RECEIVE, "homeassistant/status")
    assert not cloud.allows(Action.PUBLISH, "homeassistant/status")
    assert not cloud.allows(Action.SUBSCRIBE, "homeassistant/#")
