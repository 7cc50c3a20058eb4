"""orchestration: prints, agent links, applied agent events

Revision ID: 0003_orchestration
Revises: 0002_rate_limit_windows
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision = "0003_orchestration"
down_revision = "0002_rate_limit_windows"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status IN ('assigned', 'printing', 'paused')")


def upgrade() -> None:
    op.create_table(
        "prints",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("printer_id", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.String(length=32), nullable=True),
        sa.Column("command_id", sa.String(length=32), nullable=False),
        sa.Column("copy_index", sa.Integer(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assigned_at", cloud.db.types.UTCDateTime(), nullable=False),
        sa.Column("started_at", cloud.db.types.UTCDateTime(), nullable=True),
        sa.Column("ended_at", cloud.db.types.UTCDateTime(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("filament_used_g", sa.Float(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_prints_active_printer",
        "prints",
        ["printer_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.create_index("ix_prints_org_ended", "prints", ["org_id", "ended_at"])
    op.create_index("ix_prints_job", "prints", ["job_id"])
    op.create_index("ix_prints_command", "prints", ["command_id"])
    op.create_table(
        "agent_links",
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("session", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("online_since", cloud.db.types.UTCDateTime(), nullable=True),
        sa.Column("config_revision", sa.BigInteger(), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", cloud.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id"),
    )
    op.create_table(
        "applied_agent_events",
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("applied_at", cloud.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "event_id"),
    )


def downgrade() -> None:
    op.drop_table("applied_agent_events")
    op.drop_table("agent_links")
    op.drop_index("ix_prints_command", table_name="prints")
    op.drop_index("ix_prints_job", table_name="prints")
    op.drop_index("ix_prints_org_ended", table_name="prints")
    op.drop_index("ux_prints_active_printer", table_name="prints")
    op.drop_table("prints")
