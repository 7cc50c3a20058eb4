"""webhook secrets sealed at rest

Revision ID: 0010_webhook_secrets
Revises: 0009_lifecycle

- `webhooks.secret_sealed`: the endpoint's signing secret, sealed with the cloud's secrets
  key (cloud/sealing.py), as printer secrets and MQTT passwords are. Secrets kept in plain
  text by earlier versions (`webhooks.secret`, now nullable) are sealed into it when the
  service starts (cloud/webhooks/secrets.py); the old column is dropped by a later release.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_webhook_secrets"
down_revision = "0009_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("secret_sealed", sa.Text(), nullable=True))
        batch.alter_column("secret", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    # Sealed secrets cannot be opened here (no key): endpoints keep working only once their
    # secrets are set again through the API.
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("secret_sealed")
