"""Period parsing (pure) and what the API answers to bad parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cloud.analytics.period import resolve_period
from cloud.problems import Problem
from tests.cloud.api.test_auth import key_with
from tests.cloud.conftest import SQLITE_ONLY, Api, OrgClient, SessionRunner, assert_error

NOW = datetime(2025, 10, 6, 15, 30, 12, 345678, tzinfo=UTC)


def test_default_is_the_last_seven_days_to_now() -> None:
    period = resolve_period(None, None, NOW)
    assert period.end_shown == datetime(2025, 10, 6, 15, 30, 12, tzinfo=UTC)
    # Counted to the end of the current second: what finished a moment ago is in.
    assert period.end == datetime(2025, 10, 6, 15, 30, 13, tzinfo=UTC)
    assert period.start == period.end_shown - timedelta(days=7)


def test_a_date_to_covers_the_whole_day() -> None:
    period = resolve_period("2025-10-01", "2025-10-06", NOW)
    assert period.start == datetime(2025, 10, 1, tzinfo=UTC)
    assert period.end == datetime(2025, 10, 7, tzinfo=UTC)
    assert period.end_shown == datetime(2025, 10, 6, 23, 59, 59, tzinfo=UTC)
    assert period.length_s == 6 * 86400
    # One day: from and to the same date.
    assert resolve_period("2025-10-01", "2025-10-01", NOW).length_s == 86400


def test_from_alone_runs_to_now_and_offsets_become_utc() -> None:
    period = resolve_period("2025-10-01T08:00:00+02:00", None, NOW)
    assert period.start == datetime(2025, 10, 1, 6, tzinfo=UTC)
    assert period.end_shown == datetime(2025, 10, 6, 15, 30, 12, tzinfo=UTC)
    assert resolve_period(None, "2025-10-03T00:00:00Z", NOW).start == datetime(
        2025, 9, 26, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("raw_from", "raw_to", "param"),
    [
        ("yesterday", None, "from"),
        ("2025-13-01", None, "from"),
        (None, "2025-10-32", "to"),
        ("2025-10-01T10:00:00", None, "from"),  # no time zone
        ("2025-10-05", "2025-10-04", "from"),  # from after to
        ("2025-10-05T00:00:01Z", "2025-10-05T00:00:00Z", "from"),
        ("2000-01-01", "2025-10-01", "from"),  # more than 10 years
        (None, "9999-12-31", "to"),  # the day after cannot be represented
        (None, "9999-12-31T23:59:59-14:00", "to"),  # year 10000 in UTC
        ("0001-01-01T00:00:00+14:00", None, "from"),  # year 0 in UTC
    ],
)
def test_bad_bounds(raw_from: str | None, raw_to: str | None, param: str) -> None:
    with pytest.raises(Problem) as caught:
        resolve_period(raw_from, raw_to, NOW)
    assert caught.value.param == param
    assert caught.value.code == "invalid_request"


def test_an_empty_period_is_allowed() -> None:
    period = resolve_period("2025-10-01T10:00:00Z", "2025-10-01T10:00:00Z", NOW)
    assert period.length_s == 0


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("/v1/analytics/fleet", {"from": "2025-10-05", "to": "2025-10-01"}, "from"),
        ("/v1/analytics/fleet", {"from": "last week"}, "from"),
        ("/v1/analytics/fleet", {"to": "2025-10-01T10:00"}, "to"),
        ("/v1/analytics/fleet", {"groups": "east"}, "groups"),
        ("/v1/analytics/fleet", {"from": "x" * 65}, "from"),
        ("/v1/analytics/fleet", {"group": "g" * 101}, "group"),
        ("/v1/analytics/printers/p1", {"group": "east"}, "group"),
        ("/v1/analytics/jobs", {"status": "queued"}, "status"),
        ("/v1/analytics/jobs", {"to": "2025-02-30"}, "to"),
        ("/v1/analytics/materials", {"printer_id": "p1"}, "printer_id"),
        ("/v1/analytics/fleet", {"to": "9999-12-31T23:59:59-14:00"}, "to"),
        ("/v1/analytics/printers/p1", {"from": "0001-01-01T00:00:00+14:00"}, "from"),
        ("/v1/analytics/jobs", {"to": "9999-12-31T23:59:59-14:00"}, "to"),
        ("/v1/analytics/materials", {"from": "0001-01-01T00:00:00+14:00"}, "from"),
        ("/v1/jobs", {"to": "9999-12-31T23:59:59-14:00"}, "to"),
        ("/v1/jobs", {"from": "0001-01-01T00:00:00+14:00"}, "from"),
    ],
)
async def test_bad_parameters_are_named(
    owner: OrgClient, path: str, params: dict[str, str], param: str
) -> None:
    assert_error(await owner.get(path, params=params), 400, "invalid_request", param)


@SQLITE_ONLY
async def test_needs_the_analytics_read_scope(
    api: Api, owner: OrgClient, in_db: SessionRunner
) -> None:
    jobs_only = await key_with(api, owner, in_db, ["jobs:read"])
    reader = await key_with(api, owner, in_db, ["analytics:read"])
    for path in ("fleet", "jobs", "materials", "printers/p1"):
        r: Any = await api.client.get(f"/v1/analytics/{path}", headers=api.auth(jobs_only))
        assert_error(r, 403, "insufficient_permissions")
        assert_error(await api.client.get(f"/v1/analytics/{path}"), 401, "invalid_api_key")
    r = await api.client.get("/v1/analytics/fleet", headers=api.auth(reader))
    assert r.status_code == 200
    body = r.json()
    to = datetime.fromisoformat(body["period"]["to"])
    assert abs((datetime.now(UTC) - to).total_seconds()) < 60
    assert to - datetime.fromisoformat(body["period"]["from"]) == timedelta(days=7)
