"""The migrations build exactly the schema the models describe (nothing for autogenerate to
add or drop), and they run down and up again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

import cloud.idempotency.tables
import cloud.mqttauth.tables
import cloud.orchestration.tables
import cloud.ratelimit
import cloud.webhooks.tables  # noqa: F401  (their tables join the same metadata)
from cloud.db import migrate
from cloud.db.engine import create_engine
from cloud.db.models import metadata


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        status = await migrate.upgrade(engine)
        assert status.up_to_date
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
        await migrate.downgrade(engine, "base")
        status = await migrate.upgrade(engine)
        assert status.up_to_date
    finally:
        await engine.dispose()
