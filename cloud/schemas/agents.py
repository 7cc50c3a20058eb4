"""Agent bodies. The spec is silent on agents; the system needs them to reach printers."""

from __future__ import annotations

from datetime import datetime

import msgspec

from cloud.schemas.common import Name, Pagination
from shared.enums import AgentState


class AgentOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    state: AgentState
    version: str | None
    mqtt_username: str
    last_seen_at: datetime | None
    created_at: datetime
    revoked_at: datetime | None
    revoked: bool


AGENT_FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(AgentOut))


class AgentPage(msgspec.Struct, kw_only=True):
    data: list[AgentOut]
    pagination: Pagination


class AgentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name


class MqttCredentials(msgspec.Struct, kw_only=True):
    url: str
    username: str
    password: str
    client_id: str
    topic_root: str
    # The broker has this login already (false: it was out of reach; the cloud applies the
    # login when it is back, and the agent's connection attempts succeed from then on).
    provisioned: bool


class AgentRegistered(msgspec.Struct, kw_only=True):
    """Returned at registration and at each rotation, once: the password is never shown
    again (the cloud keeps it sealed, to give to the broker, not to API callers)."""

    agent: AgentOut
    mqtt: MqttCredentials
    config_toml: str
