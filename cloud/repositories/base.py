"""One repository shape for every tenant table: each query carries `org_id = :caller's org`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import SQLModel

from cloud.api.listing import PageRequest
from cloud.db.core import table_of
from cloud.db.engine import autocommit
from cloud.db.reader import SqliteReader
from cloud.db.rows import Derived, raw_columns
from cloud.repositories.statements import DriverSql, page_params, page_statements

M = TypeVar("M", bound=SQLModel)
T = TypeVar("T")


class OrgRepository(Generic[M]):
    """Queries on `model` confined to one organization."""

    def __init__(
        self,
        model: type[M],
        session: AsyncSession,
        org_id: str,
        sort_columns: Mapping[str, Any] | None = None,
        *,
        reader: SqliteReader | None = None,
        derived: Derived = (),
    ) -> None:
        self.model = model
        self.session = session
        self.org_id = org_id
        self.table = table_of(model)
        self.sort_columns = dict(sort_columns or {})
        self.reader = reader
        # Values a raw list page shows that no column holds (cloud.db.rows.raw_columns).
        self.derived = derived

    def _scoped(self) -> ColumnElement[bool]:
        return self.table.c.org_id == self.org_id

    async def get(self, resource_id: str, *, for_update: bool = False) -> M | None:
        stmt = select(self.model).where(self._scoped(), self.table.c.id == resource_id)
        if for_update:
            stmt = stmt.with_for_update()
        result = await self.session.execute(stmt)
        return result.scalar_one_or_none()

    async def page(
        self,
        filters: Sequence[ColumnElement[bool]],
        req: PageRequest,
        *,
        raw: tuple[str, ...] | None = None,
        equal: Mapping[str, Any] | None = None,
    ) -> tuple[Sequence[Row[Any]], int]:
        """One page of rows (Core rows, no ORM identity map on the hot list path; plain
        tuples for a `raw` shape on SQLite) and the total. `raw` names the columns each row
        holds, as the driver returns them (`cloud.db.rows`); default: the whole table,
        processed. `equal` maps columns to the value they must equal; with no other
        `filters` the page runs as a prepared shape (`cloud.repositories.statements`). The
        count is its own query: `count(*) OVER ()` would make SQLite materialise every
        matching row before the LIMIT."""
        equal = equal or {}
        params: dict[str, Any] = {}
        driver: tuple[DriverSql, DriverSql] | None = None
        if filters:
            stmt, count_stmt = self._build(filters, equal, req, raw)
        else:
            keys = tuple(sorted(equal))
            sort = tuple((self.sort_columns[k.field].name, k.descending) for k in req.sort)
            shape = page_statements(self.table, raw, keys, sort, self.derived)
            stmt, count_stmt, driver = shape.page, shape.count, shape.sqlite
            params = page_params(self.org_id, equal, req.per_page, req.offset)
        if self.reader is not None:
            if driver is not None:
                page_sql, count_sql = driver
                return await self.reader.run(
                    lambda conn: _page_on_driver(conn, page_sql, count_sql, params, req)
                )
            return await self.reader.run(
                lambda conn: _page_sync(conn, stmt, count_stmt, params, req)
            )
        engine = self.session.bind
        if isinstance(engine, AsyncEngine) and not self.session.in_transaction():
            # Nothing uncommitted to see: a connection of its own in autocommit spares the
            # BEGIN and ROLLBACK round trips (PostgreSQL: 5 -> 3 per page). Like the SQLite
            # reader, each statement sees the latest commit.
            async with autocommit(engine) as conn:
                return await conn.run_sync(
                    lambda sync: _page_sync(sync, stmt, count_stmt, params, req)
                )
        rows = (await self.session.execute(stmt, params)).all()
        if req.offset == 0 and len(rows) < req.per_page:
            return rows, len(rows)  # the whole result is on this page: no count needed
        return rows, int(await self.session.scalar(count_stmt, params) or 0)

    def _build(
        self,
        filters: Sequence[ColumnElement[bool]],
        equal: Mapping[str, Any],
        req: PageRequest,
        raw: tuple[str, ...] | None,
    ) -> tuple[Select[Any], Select[Any]]:
        c = self.table.c
        where = [self._scoped(), *filters, *(c[name] == value for name, value in equal.items())]
        order: list[Any] = []
        for key in req.sort:
            column = self.sort_columns[key.field]
            order.append(column.desc() if key.descending else column.asc())
        order.append(c.id.asc())
        query = select(*raw_columns(self.table, raw, self.derived)) if raw else select(self.table)
        stmt = query.where(*where).order_by(*order).offset(req.offset).limit(req.per_page)
        return stmt, select(func.count()).select_from(self.table).where(*where)

    async def count(self, *filters: ColumnElement[bool]) -> int:
        stmt = select(func.count()).select_from(self.table).where(self._scoped(), *filters)
        return int(await self.session.scalar(stmt) or 0)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """`fn(connection)`: reads for the checks before a write, in one pass. On SQLite they
        run inline on the reader (aiosqlite would take three thread hops per statement) as
        long as this session has begun no transaction, so there is nothing uncommitted it
        could miss; otherwise through the session."""
        if not self.session.in_transaction():
            if self.reader is not None:
                return await self.reader.run(fn)
            engine = self.session.bind
            if isinstance(engine, AsyncEngine):
                # PostgreSQL: in autocommit, as list pages are; the session's own transaction
                # would cost a BEGIN and a ROLLBACK round trip for nothing it could see.
                async with autocommit(engine) as conn:
                    return await conn.run_sync(fn)
        return await self.session.run_sync(lambda session: fn(session.connection()))

    def add(self, obj: M) -> None:
        self.session.add(obj)

    async def delete(self, obj: M) -> None:
        await self.session.delete(obj)


def _page_sync(
    conn: Connection,
    stmt: Select[Any],
    count_stmt: Select[Any],
    params: dict[str, Any],
    req: PageRequest,
) -> tuple[Sequence[Row[Any]], int]:
    rows = conn.execute(stmt, params).all()
    if req.offset == 0 and len(rows) < req.per_page:
        return rows, len(rows)
    return rows, int(conn.execute(count_stmt, params).scalar() or 0)


def _page_on_driver(
    conn: Connection,
    page_sql: DriverSql,
    count_sql: DriverSql,
    params: dict[str, Any],
    req: PageRequest,
) -> tuple[Sequence[Any], int]:
    """`_page_sync` on the sqlite3 connection itself: raw columns need no processing."""
    driver = conn.connection.driver_connection
    assert driver is not None
    rows = driver.execute(page_sql.text, page_sql.args(params)).fetchall()
    if req.offset == 0 and len(rows) < req.per_page:
        return rows, len(rows)
    return rows, int(driver.execute(count_sql.text, count_sql.args(params)).fetchone()[0])
