"""the filament a printer reports loaded

Revision ID: 0012_printer_reported_materials
Revises: 0011_printer_reported_at

- `printers.reported_materials`: what the printer itself says is loaded (a Bambu AMS's
  trays, its external spool), from its agent's newest snapshot, as a JSON array of
  `{slot, type, color, remaining_pct}`; empty for printers that cannot tell. The queue
  counts each one with a type as a material the printer can print (cloud/queue/planner.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_printer_reported_materials"
down_revision = "0011_printer_reported_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The default fills the existing rows (NOT NULL); the models write the value themselves.
    with op.batch_alter_table("printers") as batch:
        batch.add_column(
            sa.Column(
                "reported_materials", sa.JSON(), nullable=False, server_default=sa.text("'[]'")
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.drop_column("reported_materials")
