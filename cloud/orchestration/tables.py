"""Tables the orchestration owns (migration 0002).

- `prints`: one row per physical print of a job on a printer (a job with ``copies: 3`` has
  up to three). Assignment, start, outcome, duration and material used live here; analytics
  and utilisation are computed from it.
- `agent_links`: what the cloud knows of each agent's connection: its session counter (a
  stale Last Will is recognised by a lower session), the highest event sequence applied,
  the sequence every event up to which is applied (``applied_through_seq``, what the cloud
  acknowledges to the agent, cloud/orchestration/acks.py), and the revision and hash of its
  desired config.
- `applied_agent_events`: the id of every agent event applied, so a redelivered event
  (QoS 1 is at-least-once, and an agent replays its outbox after a reconnect) is applied
  once. The primary key makes two replicas racing on one event collide instead of both
  applying it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Text, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from cloud.db.core import table_of
from cloud.db.types import UTCDateTime, utcnow
from cloud.lifecycle.states import RunStatus


class PrintRun(SQLModel, table=True):
    __tablename__ = "prints"
    __table_args__ = (
        # At most one active print per printer: the database, not the scheduler, guarantees
        # that two replicas can never start two jobs on one printer. The statuses are
        # cloud/lifecycle/states.RUN_ACTIVE (a test holds them equal).
        Index(
            "ux_prints_active_printer",
            "printer_id",
            unique=True,
            sqlite_where=text("status IN ('assigned', 'printing', 'paused')"),
            postgresql_where=text("status IN ('assigned', 'printing', 'paused')"),
        ),
        Index("ix_prints_org_ended", "org_id", "ended_at"),
        # The per-printer analytics report.
        Index("ix_prints_org_printer_ended", "org_id", "printer_id", "ended_at"),
        Index("ix_prints_job", "job_id"),
        Index("ix_prints_command", "command_id"),
    )

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(max_length=32)
    job_id: str = Field(max_length=32)
    printer_id: str = Field(max_length=32)
    agent_id: str | None = Field(default=None, max_length=32)
    command_id: str = Field(max_length=32)
    copy_index: int = 1
    # The job named this printer itself (a pin survives re-queueing for the next copy).
    pinned: bool = False
    status: str = Field(default=RunStatus.ASSIGNED.value, max_length=16)
    assigned_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    progress: float | None = None
    duration_s: float | None = None
    filament_used_g: float | None = None
    failure_reason: str | None = Field(default=None, sa_type=Text)


class AgentLink(SQLModel, table=True):
    __tablename__ = "agent_links"

    agent_id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(max_length=32)
    state: str = Field(default="offline", max_length=16)
    session: int = Field(default=0, sa_type=BigInteger)
    last_seq: int = Field(default=0, sa_type=BigInteger)
    # Every event with seq <= this is applied or given up on; only ever raised.
    applied_through_seq: int = Field(default=0, sa_type=BigInteger)
    # When the current online session began: a command sent before it may not have arrived.
    online_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The desired-config revision grows whenever the content (hashed) changes.
    config_revision: int = Field(default=0, sa_type=BigInteger)
    config_hash: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AppliedAgentEvent(SQLModel, table=True):
    __tablename__ = "applied_agent_events"
    # The acknowledgement walks an agent's events upward from its applied-through sequence.
    __table_args__ = (Index("ix_applied_agent_events_agent_seq", "agent_id", "seq"),)

    agent_id: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(sa_type=BigInteger)
    applied_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


async def ensure_agent_link(session: AsyncSession, agent_id: str, org_id: str) -> AgentLink:
    """The agent's link row, created if missing. Insert-or-ignore first, so two transactions
    (the consumer and the dispatcher, or two replicas) that both find it missing do not
    collide on the primary key."""
    link = await session.get(AgentLink, agent_id)
    if link is not None:
        return link
    table = table_of(AgentLink)
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert_fn(table)
        .values(
            agent_id=agent_id,
            org_id=org_id,
            state="offline",
            session=0,
            last_seq=0,
            applied_through_seq=0,
            config_revision=0,
            config_hash="",
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["agent_id"])
    )
    link = await session.get(AgentLink, agent_id, populate_existing=True)
    assert link is not None
    return link
