"""Alembic environment: runs on the connection `cloud.db.migrate` hands over in `attributes`."""

from __future__ import annotations

from alembic import context

import cloud.ratelimit  # noqa: F401  (its counters table lives on the same metadata)
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
