"""dashboard sign-in sessions

Revision ID: 0014_dashboard_sessions
Revises: 0013_home_assistant

- `dashboard_sessions`: a browser signed in to the dashboard with an API key; the cookie's
  secret is kept as its SHA-256 (`token_hash`), and the session acts as the key `key_id`
  until it expires, is signed out, or the key is revoked (cloud/dashboard/sessions.py,
  docs/dashboard.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cloud.db.types import UTCDateTime

revision = "0014_dashboard_sessions"
down_revision = "0013_home_assistant"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_dashboard_sessions_token_hash", "dashboard_sessions", ["token_hash"], unique=True
    )
    op.create_index("ix_dashboard_sessions_key_id", "dashboard_sessions", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_sessions_key_id", table_name="dashboard_sessions")
    op.drop_index("ix_dashboard_sessions_token_hash", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
