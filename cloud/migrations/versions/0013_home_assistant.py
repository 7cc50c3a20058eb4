"""Home Assistant discovery, opt-in per organization

Revision ID: 0013_home_assistant
Revises: 0012_printer_reported_materials

- `organizations.home_assistant_enabled`: the cloud publishes Home Assistant MQTT discovery
  for the organization's printers and accepts its buttons (cloud/homeassistant,
  docs/home-assistant.md). Off for every existing organization.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_home_assistant"
down_revision = "0012_printer_reported_materials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The default fills the existing rows (NOT NULL); the models write the value themselves.
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(
            sa.Column(
                "home_assistant_enabled",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("home_assistant_enabled")
