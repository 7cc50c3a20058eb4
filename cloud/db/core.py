"""A model's Core table, typed.

SQLModel sets `__table__` on table models at class creation but does not declare it, so
every `Model.__table__` needed a `type: ignore`; the mapper says the same thing typed.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, inspect
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    return cast(Table, inspect(model).local_table)
