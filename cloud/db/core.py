"""A model's Core table, typed.

SQLModel sets `__table__` on table models at class creation but does not declare it, so
every `Model.__table__` needed a `type: ignore`; the mapper says the same thing typed.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, inspect
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    return cast(Table, inspect(model).local_table)


def column_values(row: SQLModel) -> dict[str, Any]:
    """A model instance's value for each column of its table, by column name (for a Core
    write of an object built, with its defaults, but never added to a session)."""
    return {column.name: getattr(row, column.key) for column in table_of(type(row)).columns}
