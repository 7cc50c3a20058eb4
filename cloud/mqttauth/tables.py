"""`broker_logins`: every MQTT login the cloud manages on the broker (migration 0008).

One row per agent and per dashboard credential. The password is kept sealed
(`cloud.sealing`), not hashed: the cloud must be able to give it to the broker again (a
broker that lost its users, a new broker). Ownership of the two revision columns is split,
so no state has two writers: the services that create, rotate and revoke a login raise
``revision``; only the provisioner (`cloud.mqttauth.provisioner`) writes
``applied_revision``, once the broker has that revision. ``revision != applied_revision``
is the provisioner's to-do list.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from cloud.db.types import UTCDateTime, utcnow

KIND_AGENT = "agent"
KIND_DASHBOARD = "dashboard"


class BrokerLogin(SQLModel, table=True):
    __tablename__ = "broker_logins"
    __table_args__ = (Index("ix_broker_logins_org_kind_created", "org_id", "kind", "created_at"),)

    # The broker user name: an agent's id, or a dashboard credential's (mqc_…).
    id: str = Field(primary_key=True, max_length=100)
    org_id: str = Field(foreign_key="organizations.id", max_length=32)
    kind: str = Field(max_length=16)
    agent_id: str | None = Field(default=None, max_length=32)
    name: str = Field(default="", max_length=200)
    # None: registered before the cloud provisioned the broker; rotate to get one.
    password_sealed: str | None = Field(default=None, sa_type=Text, repr=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revision: int = 1
    applied_revision: int = 0

    @property
    def username(self) -> str:
        return self.id


def password_purpose(username: str) -> str:
    """The associated data a login's password is sealed with (see cloud.sealing)."""
    return f"broker_login:{username}:password"
