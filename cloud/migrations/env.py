"""Alembic environment: runs on the connection `cloud.db.migrate` hands over in `attributes`."""

from __future__ import annotations

from alembic import context

# Tables defined outside cloud.db.models register on the same metadata when imported, so
# autogenerate sees them (and does not propose dropping them).
import cloud.idempotency.tables
import cloud.mqttauth.tables
import cloud.orchestration.tables
import cloud.ratelimit
import cloud.webhooks.tables  # noqa: F401
from cloud.db.models import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `apf cloud migrate` (cloud.db.migrate)")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
