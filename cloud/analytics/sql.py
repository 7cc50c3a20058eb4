"""SQL expressions that read the same on SQLite and PostgreSQL.

Timestamps are stored as naive UTC on both (cloud/db/types.py), so "seconds since the Unix
epoch" of a column is: on PostgreSQL ``date_part('epoch', ts)``, which for a timestamp
without time zone counts nominal seconds from 1970-01-01 00:00 (postgresql.org/docs/current/
functions-datetime.html, `epoch`); on SQLite ``julianday(ts)`` less the Julian day of the
epoch, 2440587.5, times 86400 (sqlite.org/lang_datefunc.html).
Durations are then plain float arithmetic, which both engines aggregate alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, bindparam, func, literal_column, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

_UNIX_EPOCH_JULIAN_DAY = 2440587.5
_SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"

    def epoch_s(self, column: Any) -> ColumnElement[float]:
        """Seconds since the Unix epoch of a timestamp column (NULL stays NULL)."""
        if self.postgres:
            # date_part returns double precision; EXTRACT returns numeric since PostgreSQL 14,
            # whose arithmetic is several times slower over many rows.
            return type_coerce(func.date_part(literal_column("'epoch'"), column), Float)
        return type_coerce(
            (func.julianday(column) - _UNIX_EPOCH_JULIAN_DAY) * _SECONDS_PER_DAY, Float
        )

    def greatest(self, *values: Any) -> ColumnElement[float]:
        # SQLite's multi-argument max() is its GREATEST (sqlite.org/lang_corefunc.html#max_scalar).
        fn = func.greatest if self.postgres else func.max
        return type_coerce(fn(*values), Float)

    def least(self, *values: Any) -> ColumnElement[float]:
        fn = func.least if self.postgres else func.min
        return type_coerce(fn(*values), Float)

    def day(self, column: Any) -> ColumnElement[str]:
        """The UTC calendar day of a timestamp column as 'YYYY-MM-DD'."""
        # The format is inlined, not bound: PostgreSQL must see the GROUP BY expression as
        # the selected one, which two bind parameters would not be.
        if self.postgres:
            return func.to_char(column, literal_column("'YYYY-MM-DD'"))
        return func.strftime(literal_column("'%Y-%m-%d'"), column)


def seconds(value: float, name: str) -> ColumnElement[float]:
    """A float bind parameter (typed, so asyncpg sends float8)."""
    return bindparam(name, value, type_=Float, unique=True)


def norm(column: Any) -> ColumnElement[str]:
    """The grouping key of a material type or colour: trimmed, lower-case, '' for none.

    The queue matches materials the same way, ignoring case and surrounding blanks
    (cloud/queue/planner.py).
    """
    return func.coalesce(func.lower(func.trim(column)), "")


@dataclass(frozen=True, slots=True)
class Window:
    """A period as the queries bind it: datetimes for indexed filters, epoch seconds for
    arithmetic."""

    start: datetime
    end: datetime
    now: datetime

    def start_s(self) -> ColumnElement[float]:
        return seconds(self.start.timestamp(), "window_start_s")

    def end_s(self) -> ColumnElement[float]:
        return seconds(self.end.timestamp(), "window_end_s")

    def now_s(self) -> ColumnElement[float]:
        return seconds(self.now.timestamp(), "window_now_s")


def dialect_of(session: AsyncSession) -> Dialect:
    return Dialect(session.get_bind().dialect.name)
