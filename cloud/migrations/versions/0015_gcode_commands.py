"""raw G-code commands and their replies

Revision ID: 0015_gcode_commands
Revises: 0014_dashboard_sessions

- `printer_commands.gcode`: the lines of a `gcode` command (`POST /v1/printers/{id}/gcode`,
  the dashboard's console), as a JSON array; null for every other action.
- `printer_commands.reply`: what the printer answered a `gcode` command (the agent's reply
  message: the printer's lines, newline-separated), read back by the request that waits
  for it, on whichever replica the agent's reply arrived.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_gcode_commands"
down_revision = "0014_dashboard_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("printer_commands") as batch:
        batch.add_column(sa.Column("gcode", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("reply", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("printer_commands") as batch:
        batch.drop_column("reply")
        batch.drop_column("gcode")
