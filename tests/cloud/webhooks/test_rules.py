"""Pure rules: subscription matching, the retry schedule with jitter, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cloud.problems import Problem
from cloud.webhooks.events import EVENT_NAMES, WILDCARDS, matches, validate_events
from cloud.webhooks.schedule import DEFAULT_DELAYS_S, RetryPolicy, parse_retry_after
from shared.enums import EventType


def test_wildcards_cover_each_family_and_nothing_else() -> None:
    assert set(WILDCARDS) == {"job.*", "printer.*", "material.*", "webhook.*"}
    for name in EVENT_NAMES:
        family = name.split(".")[0] + ".*"
        assert matches([family], name)
        assert not any(matches([w], name) for w in WILDCARDS if w != family)
    assert matches(["job.completed"], "job.completed")
    assert not matches(["job.completed"], "job.failed")
    assert not matches(["job.*"], "jobs.created")
    assert not matches([], "job.created")


def test_spec_names_are_all_accepted() -> None:
    spec = [
        "job.*", "job.created", "job.started", "job.completed", "job.failed",
        "printer.*", "printer.online", "printer.offline", "printer.error",
        "material.*", "material.low", "material.empty",
    ]  # fmt: skip
    assert validate_events(spec) == spec
    assert {e.value for e in EventType} <= set(EVENT_NAMES)


@pytest.mark.parametrize("names", [[], ["job"], ["JOB.*"], ["job.**"], ["webhook.test"]])
def test_unknown_names_are_refused(names: list[str]) -> None:
    with pytest.raises(Problem) as caught:
        validate_events(names)
    assert caught.value.param == "events"


def test_default_schedule_is_the_issues_table() -> None:
    policy = RetryPolicy(jitter=0.0)
    assert DEFAULT_DELAYS_S == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert policy.max_attempts == 8
    assert [policy.delay_after(n) for n in range(1, 8)] == list(DEFAULT_DELAYS_S)
    assert policy.delay_after(8) is None
    assert policy.delay_after(0) is None


def test_jitter_stays_within_ten_percent_and_varies() -> None:
    draws = iter([0.0, 1.0, 0.5])
    policy = RetryPolicy(random_fn=lambda: next(draws))
    assert policy.delay_after(2) == pytest.approx(270.0)
    assert policy.delay_after(2) == pytest.approx(330.0)
    assert policy.delay_after(2) == pytest.approx(300.0)
    real = RetryPolicy()
    samples = {real.delay_after(1) for _ in range(50)}
    assert len(samples) > 1 and all(4.5 <= s <= 5.5 for s in samples if s is not None)


def test_retry_after_raises_the_delay_but_is_capped() -> None:
    policy = RetryPolicy(jitter=0.0)
    assert policy.delay_after(1, retry_after_s=60) == 60
    assert policy.delay_after(2, retry_after_s=60) == 300
    assert policy.delay_after(1, retry_after_s=10**9) == 24 * 3600


def test_parse_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now) == 90
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
