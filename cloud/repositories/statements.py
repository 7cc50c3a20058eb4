"""Page and count statements built once per query shape, then run with new values.

Building a fresh SELECT for every list request, and SQLAlchemy deriving its cache key again
to find the compiled form, cost ~0.2 ms per page (more than the indexed query itself). The
shape of a list query (table, columns, which columns are filtered by equality, sort order)
takes few values, so its statements are built once with bound parameters, and SQLAlchemy
memoizes the cache key on the statement object.

On SQLite a shape of raw columns (`cloud.db.rows`) also keeps its SQL as compiled for the
sqlite3 driver: its rows need no processing, so the reader runs that SQL on the driver
directly, sparing SQLAlchemy's execution and result layers (~25 us a statement).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Select, Table, bindparam, func, select
from sqlalchemy.dialects import sqlite

from cloud.db.rows import Derived, raw_columns

LIMIT, OFFSET = "page_limit", "page_offset"
_ORG = "page_org_id"


_SQLITE = sqlite.dialect()  # pysqlite, qmark parameters: what the reader's engine uses


@dataclass(frozen=True, slots=True)
class DriverSql:
    """A statement as the sqlite3 driver takes it: text and the order of its parameters."""

    text: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, stmt: Select[Any]) -> DriverSql:
        compiled = stmt.compile(dialect=_SQLITE)
        return cls(compiled.string, tuple(compiled.positiontup or ()))

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


@dataclass(frozen=True, slots=True)
class PageStatements:
    page: Select[Any]
    count: Select[Any]
    # Raw shapes only (see the module's docstring).
    sqlite: tuple[DriverSql, DriverSql] | None


@functools.lru_cache(maxsize=256)
def page_statements(
    table: Table,
    raw: tuple[str, ...] | None,
    equal: tuple[str, ...],
    sort: tuple[tuple[str, bool], ...],
    derived: Derived = (),
) -> PageStatements:
    """Page and count for `table` in one organization, `equal` columns each
    `= :eq_<name>`, ordered by `sort` (column name, descending) then id; see `page_params`
    for the values."""
    c = table.c
    where = [c.org_id == bindparam(_ORG), *(c[name] == bindparam(f"eq_{name}") for name in equal)]
    order = [c[name].desc() if descending else c[name].asc() for name, descending in sort]
    query = select(*raw_columns(table, raw, derived)) if raw else select(table)
    page = (
        query.where(*where)
        .order_by(*order, c.id.asc())
        .limit(bindparam(LIMIT, type_=Integer))
        .offset(bindparam(OFFSET, type_=Integer))
    )
    count = select(func.count()).select_from(table).where(*where)
    driver = (DriverSql.of(page), DriverSql.of(count)) if raw else None
    return PageStatements(page, count, driver)


def page_params(org_id: str, equal: Mapping[str, Any], limit: int, offset: int) -> dict[str, Any]:
    params = {f"eq_{name}": value for name, value in equal.items()}
    params[_ORG] = org_id
    params[LIMIT] = limit
    params[OFFSET] = offset
    return params
