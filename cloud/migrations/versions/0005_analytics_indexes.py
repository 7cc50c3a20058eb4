"""analytics indexes: jobs by completion time, prints by printer and end time

Revision ID: 0005_analytics_indexes
Revises: 0004_webhooks
"""

from __future__ import annotations

from alembic import op

revision = "0005_analytics_indexes"
down_revision = "0004_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_org_completed", "jobs", ["org_id", "completed_at"])
    op.create_index("ix_prints_org_printer_ended", "prints", ["org_id", "printer_id", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_prints_org_printer_ended", table_name="prints")
    op.drop_index("ix_jobs_org_completed", table_name="jobs")
