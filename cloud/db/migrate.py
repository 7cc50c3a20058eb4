"""Schema migrations with Alembic, driven from code (no alembic.ini to find or edit).

`apf cloud migrate` upgrades to the newest revision; `apf cloud serve` calls `schema_status`
and refuses to start unless the database is at that revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "cloud:migrations")
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    async with engine.connect() as conn:
        current = await conn.run_sync(_current)
    return SchemaStatus(current=current, head=head_revision())


def _run(connection: Connection, action: str, revision: str, extra: dict[str, Any]) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, revision)
    elif action == "downgrade":
        command.downgrade(config, revision)
    elif action == "revision":
        command.revision(config, autogenerate=True, **extra)
    else:  # pragma: no cover - programming error
        raise ValueError(action)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> SchemaStatus:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "upgrade", revision, {})
    return await schema_status(engine)


async def downgrade(engine: AsyncEngine, revision: str) -> SchemaStatus:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "downgrade", revision, {})
    return await schema_status(engine)


async def autogenerate(engine: AsyncEngine, message: str) -> None:
    """Developer tool: write a new revision from the difference between models and database."""
    async with engine.begin() as conn:
        await conn.run_sync(_run, "revision", "", {"message": message})
