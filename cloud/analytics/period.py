"""The reporting period of an analytics request: `from`/`to` as dates or datetimes.

Pure: the caller passes "now". A period is half-open, ``[start, end)``; a date `to` covers
that whole day, so it ends at the next midnight (shown as 23:59:59, as the spec's example).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cloud.problems import invalid

DEFAULT_LENGTH = timedelta(days=7)
# Bounds the per-day series and keeps the epoch arithmetic in a sane range.
MAX_LENGTH = timedelta(days=3661)
_ONE_SECOND = timedelta(seconds=1)
# The longest ISO 8601 datetime Python reads is well under this.
_MAX_TEXT = 64


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime  # exclusive
    # A date `to` ends at midnight; the report shows the last second of that day instead.
    end_shown: datetime

    @property
    def length_s(self) -> float:
        return (self.end - self.start).total_seconds()


def parse_bound(raw: str, param: str) -> tuple[datetime, bool]:
    """`raw` as an aware UTC datetime, and whether it was a bare date (also used by the
    jobs list's `from`/`to`)."""
    text = raw.strip()
    if len(text) > _MAX_TEXT:
        raise invalid(f"'{param}' is too long for a date or datetime.", param=param)
    if len(text) == 10:  # YYYY-MM-DD
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise invalid(
                f"'{param}' must be an ISO 8601 date or datetime, got '{raw}'.", param=param
            ) from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC), True
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise invalid(
            f"'{param}' must be an ISO 8601 date or datetime, got '{raw}'.", param=param
        ) from None
    if value.tzinfo is None:
        raise invalid(
            f"'{param}' needs a time zone (e.g. 2025-10-01T00:00:00Z) or a bare date.",
            param=param,
        )
    try:
        # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC, 0001-01-01T00:00+14:00 in year 0.
        return value.astimezone(UTC), False
    except OverflowError:
        raise invalid(f"'{param}' is out of range.", param=param) from None


def resolve_period(raw_from: str | None, raw_to: str | None, now: datetime) -> Period:
    """The period asked for; `to` defaults to now, `from` to 7 days before `to`."""
    now = now.astimezone(UTC).replace(microsecond=0)
    to_is_date = False
    if raw_to is None:
        # Shown to the second, counted to the end of that second: what finished a moment
        # ago, earlier in the same second, is in the period.
        end, end_shown = now + _ONE_SECOND, now
    else:
        end, to_is_date = parse_bound(raw_to, "to")
        end_shown = end
        if to_is_date:
            try:
                end = end + timedelta(days=1)
            except OverflowError:
                raise invalid("'to' is out of range.", param="to") from None
            end_shown = end - _ONE_SECOND
    if raw_from is None:
        try:
            start = (end_shown if raw_to is None else end) - DEFAULT_LENGTH
        except OverflowError:
            start = datetime.min.replace(tzinfo=UTC)
    else:
        start, _ = parse_bound(raw_from, "from")
    # A date `to` names a whole day: `from` must fall before that day ends.
    if start > end or (to_is_date and start >= end):
        raise invalid(
            f"'from' ({start.isoformat()}) is after 'to' ({end_shown.isoformat()}).",
            param="from",
        )
    if end - start > MAX_LENGTH:
        raise invalid("The period may span at most 10 years.", param="from")
    return Period(start=start, end=end, end_shown=end_shown)
