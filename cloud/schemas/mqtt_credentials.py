"""MQTT credentials for dashboards: read-only logins on the broker for one organization."""

from __future__ import annotations

from datetime import datetime

import msgspec

from cloud.schemas.common import Name, Pagination


class MqttCredentialOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    # The broker user name (the same as the id).
    username: str
    # The topic filters it may subscribe to; it can publish nothing.
    topics: list[str]
    created_at: datetime
    revoked_at: datetime | None
    revoked: bool


MQTT_CREDENTIAL_FIELDS: tuple[str, ...] = tuple(
    f.name for f in msgspec.structs.fields(MqttCredentialOut)
)


class MqttCredentialCreated(MqttCredentialOut, kw_only=True):
    """Returned once, at creation: the password is never shown again."""

    password: str
    # Where to connect (mqtt://host:port or mqtts://host:port).
    url: str
    # The broker has this login already (false: out of reach; applied when it is back).
    provisioned: bool


class MqttCredentialPage(msgspec.Struct, kw_only=True):
    data: list[MqttCredentialOut]
    pagination: Pagination


class MqttCredentialCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
