"""event acks: each agent's applied-through sequence, and applied events by sequence

Revision ID: 0007_event_acks
Revises: 0006_idempotency_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_event_acks"
down_revision = "0006_idempotency_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "agent_links",
        sa.Column("applied_through_seq", sa.BigInteger(), nullable=False, server_default="0"),
    )
    # Before acknowledgements, nothing waited on a gap: take what was applied as settled.
    op.execute("UPDATE agent_links SET applied_through_seq = last_seq")
    op.create_index(
        "ix_applied_agent_events_agent_seq", "applied_agent_events", ["agent_id", "seq"]
    )


def downgrade() -> None:
    op.drop_index("ix_applied_agent_events_agent_seq", table_name="applied_agent_events")
    with op.batch_alter_table("agent_links") as batch:
        batch.drop_column("applied_through_seq")
