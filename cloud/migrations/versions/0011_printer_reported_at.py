"""printer snapshots applied in the agent's order

Revision ID: 0011_printer_reported_at
Revises: 0010_webhook_secrets

- `printers.reported_at`: the agent's timestamp of the snapshot written last. Two replicas
  (or a redelivery) can apply one printer's snapshots in another order than the agent sent
  them; a snapshot older than the one written is skipped (cloud/lifecycle/printers.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cloud.db.types import UTCDateTime

revision = "0011_printer_reported_at"
down_revision = "0010_webhook_secrets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.add_column(sa.Column("reported_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.drop_column("reported_at")
