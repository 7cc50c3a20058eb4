"""One repository shape for every tenant table: each query carries `org_id = :caller's org`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from cloud.api.listing import PageRequest
from cloud.db.reader import SqliteReader

M = TypeVar("M", bound=SQLModel)


class OrgRepository(Generic[M]):
    """Queries on `model` confined to one organization."""

    def __init__(
        self,
        model: type[M],
        session: AsyncSession,
        org_id: str,
        sort_columns: Mapping[str, Any] | None = None,
        reader: SqliteReader | None = None,
    ) -> None:
        self.model = model
        self.session = session
        self.org_id = org_id
        self.table = model.__table__  # type: ignore[attr-defined]
        self.sort_columns = dict(sort_columns or {})
        self.reader = reader

    def _scoped(self) -> ColumnElement[bool]:
        return self.table.c.org_id == self.org_id  # type: ignore[no-any-return]

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
        columns: Sequence[ColumnElement[Any]] | None = None,
    ) -> tuple[Sequence[Row[Any]], int]:
        """One page of rows (Core rows: no ORM identity map on the hot list path) and the
        total. `columns` (default: the whole table) picks what each row holds, e.g. the raw
        values of `cloud.db.rows.raw_columns`. The count is its own query: `count(*) OVER ()`
        would make SQLite materialise every matching row before the LIMIT."""
        where = [self._scoped(), *filters]
        order: list[Any] = []
        for key in req.sort:
            column = self.sort_columns[key.field]
            order.append(column.desc() if key.descending else column.asc())
        order.append(self.table.c.id.asc())
        query = select(*columns) if columns else select(self.table)
        stmt = query.where(*where).order_by(*order).offset(req.offset).limit(req.per_page)
        count_stmt = select(func.count()).select_from(self.table).where(*where)
        if self.reader is not None:
            return await self.reader.run(lambda conn: _page_sync(conn, stmt, count_stmt, req))
        rows = (await self.session.execute(stmt)).all()
        if req.offset == 0 and len(rows) < req.per_page:
            return rows, len(rows)  # the whole result is on this page: no count needed
        return rows, int(await self.session.scalar(count_stmt) or 0)

    async def count(self, *filters: ColumnElement[bool]) -> int:
        stmt = select(func.count()).select_from(self.table).where(self._scoped(), *filters)
        return int(await self.session.scalar(stmt) or 0)

    def add(self, obj: M) -> None:
        self.session.add(obj)

    async def delete(self, obj: M) -> None:
        await self.session.delete(obj)


def _page_sync(
    conn: Connection, stmt: Select[Any], count_stmt: Select[Any], req: PageRequest
) -> tuple[Sequence[Row[Any]], int]:
    rows = conn.execute(stmt).all()
    if req.offset == 0 and len(rows) < req.per_page:
        return rows, len(rows)
    return rows, int(conn.execute(count_stmt).scalar() or 0)
