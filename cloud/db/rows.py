"""Columns as the driver returns them, for list pages that turn many rows into responses.

SQLAlchemy's result processing for a 100-row page (a regex parse per SQLite timestamp, the
UTC re-tagging, `json.loads` per JSON column, attribute lookup by name on each row) cost more
than the query itself: ~5 µs a row (bench/api.py). List queries select the columns raw
(`raw_columns`) and build responses from the value tuples with the helpers here, which accept
what either backend returns: SQLite gives text, asyncpg datetimes and JSON text, and an ORM
object already holds datetimes and lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, overload

import msgspec
from sqlalchemy import JSON, ColumnElement, String, Table, type_coerce

from cloud.db.types import UTCDateTime

_fromisoformat = datetime.fromisoformat
_decode_json = msgspec.json.decode


Derived = tuple[tuple[str, ColumnElement[Any]], ...]


def raw_columns(
    table: Table, names: Sequence[str], derived: Derived = ()
) -> list[ColumnElement[Any]]:
    """`names` in order; timestamp and JSON columns come back unprocessed (see `utc`). A
    name in ``derived`` is no column of the table but that expression (a subquery)."""
    computed = dict(derived)
    columns: list[ColumnElement[Any]] = []
    for name in names:
        if name in computed:
            columns.append(computed[name].label(name))
            continue
        column = table.c[name]
        if isinstance(column.type, UTCDateTime | JSON):
            columns.append(type_coerce(column, String()).label(name))
        else:
            columns.append(column)
    return columns


@overload
def utc(value: str | datetime) -> datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: str | datetime | None) -> datetime | None:
    """A stored timestamp (naive UTC, as text or a datetime) as an aware UTC datetime."""
    if value is None:
        return None
    if type(value) is str:
        parsed = _fromisoformat(value)
        if parsed.tzinfo is None:
            # Parsing again with the offset is ~5x cheaper than `.replace(tzinfo=UTC)`.
            return _fromisoformat(value + "+00:00")
        return parsed.astimezone(UTC)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_list(value: str | Sequence[Any] | None) -> list[Any]:
    """A JSON array column (text from the driver, or a list on an ORM object) as a list."""
    if value is None:
        return []
    if type(value) is str:
        decoded = _decode_json(value)
        return decoded if isinstance(decoded, list) else []
    return list(value)
