"""The tables. They stay inside the service layer: responses are built from them, never them.

Every tenant-owned table carries `org_id`, and every repository query filters on it.
Secrets the cloud only checks (API keys, invitation tokens) are stored as SHA-256 hashes.
Secrets it must hand on (a printer's connection secret, to its agent; MQTT passwords, to
the broker) are sealed (`cloud.sealing`, AES-GCM) and never returned by the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from cloud.db.types import UTCDateTime, utcnow
from cloud.lifecycle.states import CommandStatus


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    plan: str = Field(default="free", max_length=32)
    # Publish Home Assistant MQTT discovery for this organization's printers (migration
    # 0013; cloud/homeassistant).
    home_assistant_enabled: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_org_email", "org_id", "email", unique=True),)

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organizations.id", index=True, max_length=32)
    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)
    role: str = Field(default="member", max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organizations.id", index=True, max_length=32)
    user_id: str | None = Field(default=None, foreign_key="users.id", max_length=32)
    name: str = Field(default="", max_length=200)
    prefix: str = Field(max_length=32)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DashboardSession(SQLModel, table=True):
    """A browser signed in to the dashboard with an API key (cloud/dashboard, migration 0014).

    It acts as that key, no more: the key's scopes, and void once the key is revoked. The
    cookie's secret is stored as its SHA-256, like a key's; the CSRF token is not a secret
    on its own (the page reads it), only together with the cookie.
    """

    __tablename__ = "dashboard_sessions"

    id: str = Field(primary_key=True, max_length=32)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    key_id: str = Field(foreign_key="api_keys.id", index=True, max_length=32)
    org_id: str = Field(foreign_key="organizations.id", max_length=32)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Agent(SQLModel, table=True):
    __tablename__ = "agents"

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organizations.id", index=True, max_length=32)
    name: str = Field(max_length=200)
    mqtt_username: str = Field(max_length=100, unique=True)
    state: str = Field(default="offline", max_length=16)
    version: str | None = Field(default=None, max_length=64)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Printer(SQLModel, table=True):
    __tablename__ = "printers"
    __table_args__ = (
        Index("ix_printers_org_status", "org_id", "status"),
        Index("ix_printers_org_created", "org_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organizations.id", max_length=32)
    agent_id: str | None = Field(default=None, foreign_key="agents.id", max_length=32)
    name: str = Field(max_length=200)
    status: str = Field(default="offline", max_length=16)
    model: str | None = Field(default=None, max_length=200)
    firmware: str | None = Field(default=None, max_length=200)
    # "octoprint" or "serial"; the URL as given (serial://… or http(s)://…).
    connection_kind: str = Field(max_length=16)
    connection_url: str = Field(sa_type=Text)
    # Kept in plain text before migration 0008; sealed into the column below at start-up
    # (cloud/services/printer_secrets.py) and always empty after that.
    octoprint_api_key: str | None = Field(default=None, sa_type=Text, repr=False)
    # The connection's secret (an OctoPrint API key), sealed for "printer:{id}:secret".
    connection_secret_sealed: str | None = Field(default=None, sa_type=Text, repr=False)
    group: str | None = Field(default=None, max_length=100, index=True)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    hotend_c: float | None = None
    bed_c: float | None = None
    progress: float | None = None
    # When the agent stamped the snapshot written last: an older one arriving later (QoS 1
    # redelivery, or another replica's batch committing after this one) is not written.
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The filament the printer itself reports loaded (AMS trays, an external spool), as its
    # agent's newest snapshot says: [{slot, type, color, remaining_pct}]. Written by the
    # snapshot apply alone (cloud/lifecycle/printers.py); the assigned spool is `materials`.
    reported_materials: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StoredFileRow(SQLModel, table=True):
    __tablename__ = "files"

    id: str = Field(primary_key=True, max_length=64)
    org_id: str = Field(foreign_key="organizations.id", index=True, max_length=32)
    filename: str = Field(max_length=255)
    source_url: str | None = Field(default=None, sa_type=Text)
    sha256: str = Field(max_length=64)
    size_bytes: int = Field(sa_type=BigInteger)
    analysis: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_org_status_created", "org_id", "status", "created_at"),
        Index("ix_jobs_org_created", "org_id", "created_at"),
        Index("ix_jobs_org_printer", "org_id", "printer_id"),
        # Analytics counts jobs finished in a period.
        Index("ix_jobs_org_completed", "org_id", "completed_at"),
        # The queue's order: most urgent first, then oldest (DESIGN.md "Queue").
        Index("ix_jobs_queue", "status", "priority_rank", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organizations.id", max_length=32)
    name: str = Field(max_length=255)
    status: str = Field(default="queued", max_length=16)
    priority: str = Field(default="normal", max_length=16)
    priority_rank: int = 1
    printer_id: str | None = Field(default=None, max_length=32)
    file_id: str = Field(foreign_key="files.id", max_length=64)
    progress: float | None = None
    estimated_duration_s: int | None = None
    elapsed_time_s: int | None = None
    material_type: str | None = Field(default=None, max_length=64)
    material_color: str | None = Field(default=None, max_length=64)
    estimated_usage_g: float | None = None
    copies: int = 1
    copies_done: int = 0
    # The user asked to pause the job: kept until they resume it; a copy that ends while
    # it is set holds the next one (cloud/lifecycle/machine.py).
    hold: bool = False
    # Optimistic locking: every ORM write of a job says which version it read, so two
    # writers (two replicas, a request and the bridge) cannot both act on one state; the
    # loser's write fails (StaleDataError) and is retried or refused.
    version: int = 1
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    failure_reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class Material(SQLModel, table=True):
    __tablename__ = "materials"
    __table_args__ = (Index("ix_materials_org_created", "org_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organizations.id", max_length=32)
    type: str = Field(max_length=64)
    brand: str | None = Field(default=None, max_length=100)
    color: str | None = Field(default=None, max_length=64)
    spool_weight_g: float
    remaining_weight_g: float
    cost_per_kg: float | None = None
    printer_id: str | None = Field(default=None, max_length=32, index=True)
    reorder_threshold_g: float | None = None
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Invitation(SQLModel, table=True):
    __tablename__ = "invitations"

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organizations.id", index=True, max_length=32)
    email: str = Field(max_length=320)
    role: str = Field(max_length=32)
    token_hash: str = Field(max_length=64, unique=True)
    invited_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PrinterCommand(SQLModel, table=True):
    """An action for a printer's agent, delivered by the dispatcher until answered; its
    status is written by the lifecycle alone (cloud/lifecycle/store.py)."""

    __tablename__ = "printer_commands"
    __table_args__ = (Index("ix_commands_agent_status", "agent_id", "status"),)

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organizations.id", index=True, max_length=32)
    printer_id: str = Field(foreign_key="printers.id", max_length=32)
    agent_id: str | None = Field(default=None, max_length=32)
    # The job a start, pause, resume or cancel is about: the agent acts only on that job.
    job_id: str | None = Field(default=None, max_length=32)
    action: str = Field(max_length=32)
    status: str = Field(default=CommandStatus.PENDING.value, max_length=16)
    error_code: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    # A `gcode` command's lines, and what the printer answered them (the agent's reply
    # message: its reply lines, newline-separated; migration 0015).
    gcode: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    reply: str | None = Field(default=None, sa_type=Text)


class Event(SQLModel, table=True):
    """The event log: what happened, in order; webhooks deliver from it."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_org_created", "org_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organizations.id", max_length=32)
    type: str = Field(max_length=64)
    resource_id: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


metadata = SQLModel.metadata
