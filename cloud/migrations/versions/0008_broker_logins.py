"""broker logins managed by the cloud, sealed printer secrets

Revision ID: 0008_broker_logins
Revises: 0007_event_acks

- `broker_logins`: the MQTT logins of agents and dashboards, passwords sealed, with the
  revision the broker has (cloud/mqttauth/tables.py).
- `agents.mqtt_password_hash` goes: a hash cannot provision a broker. Agents registered
  before keep working where their login was made by hand; `POST /v1/agents/{id}/credentials`
  gives them one the cloud manages.
- `printers.connection_secret_sealed`: the printer's connection secret, sealed. Keys kept in
  plain text by earlier versions (`octoprint_api_key`) are sealed into it when the service
  starts (cloud/services/printer_secrets.py); the old column is dropped by a later release.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cloud.db.types import UTCDateTime

revision = "0008_broker_logins"
down_revision = "0007_event_acks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broker_logins",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_sealed", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("applied_revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_broker_logins_org_kind_created",
        "broker_logins",
        ["org_id", "kind", "created_at"],
    )
    # Existing agents: no password the cloud can hand to a broker. Active ones are left
    # pending (the provisioner says to rotate them); revoked ones have nothing to do.
    op.execute(
        "INSERT INTO broker_logins (id, org_id, kind, agent_id, name, password_sealed, "
        "created_at, revoked_at, revision, applied_revision) "
        "SELECT mqtt_username, org_id, 'agent', id, name, NULL, created_at, revoked_at, 1, "
        "CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END FROM agents"
    )
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("mqtt_password_hash")
    op.add_column("printers", sa.Column("connection_secret_sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.drop_column("connection_secret_sealed")
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("mqtt_password_hash", sa.String(length=64), nullable=False, server_default="")
        )
    op.drop_index("ix_broker_logins_org_kind_created", table_name="broker_logins")
    op.drop_table("broker_logins")
