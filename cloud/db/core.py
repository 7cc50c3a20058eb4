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


def new_row(model: type[SQLModel], **values: Any) -> dict[str, Any]:
    """A new row of `model`'s table as column values: `values` over the model's defaults, for
    a Core insert. Building the model object instead ran pydantic's validation of every
    field: ~8 % of the CPU of POST /v1/jobs under load (py-spy, bench/api.py). Nothing is
    validated here: the caller passes values the API already checked."""
    row: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        row[name] = values[name] if name in values else field.get_default(call_default_factory=True)
    unknown = set(values) - set(row)
    if unknown:
        raise TypeError(f"{model.__name__} has no column {sorted(unknown)[0]!r}")
    return row
