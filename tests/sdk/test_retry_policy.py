"""The retry rule and Retry-After parsing (pure functions of `autoprintfarm._retry`)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import httpx
import pytest

from autoprintfarm import Client, RateLimitError, RetryPolicy
from autoprintfarm._retry import (
    may_retry_network,
    may_retry_status,
    parse_retry_after,
    retry_after_from,
)
from autoprintfarm.ratelimit import RateLimit, rate_limit_from


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2025, 10, 6, 14, 25, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("Mon, 06 Oct 2025 14:25:30 GMT", now=now) == 30.0
    assert parse_retry_after("Mon, 06 Oct 2025 14:24:00 GMT", now=now) == 0.0  # past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    # draft-11 `RateLimit` reset as the fallback when Retry-After is absent.
    assert retry_after_from({"ratelimit": '"default";r=0;t=42'}) == 42.0
    assert retry_after_from({"retry-after": "3", "ratelimit": '"default";r=0;t=42'}) == 3.0
    assert retry_after_from({}) is None


@pytest.mark.parametrize(
    ("method", "status", "key", "expected"),
    [
        ("GET", 429, False, True),
        ("POST", 429, False, True),  # refused before any handler ran
        ("GET", 503, False, True),
        ("DELETE", 502, False, True),
        ("POST", 503, False, False),
        ("PATCH", 504, False, False),
        ("POST", 503, True, True),
        ("GET", 500, False, False),
        ("GET", 404, False, False),
    ],
)
def test_which_statuses_are_retried(method: str, status: int, key: bool, expected: bool) -> None:
    assert may_retry_status(method, status, idempotency_key=key) is expected


def test_which_network_failures_are_retried() -> None:
    assert may_retry_network("POST", sent=False, idempotency_key=False)
    assert not may_retry_network("POST", sent=True, idempotency_key=False)
    assert may_retry_network("POST", sent=True, idempotency_key=True)
    assert may_retry_network("GET", sent=True, idempotency_key=False)
    assert not may_retry_network("PATCH", sent=True, idempotency_key=False)


def test_backoff_grows_and_is_capped_with_jitter() -> None:
    policy = RetryPolicy(initial_delay_s=0.5, max_delay_s=4.0)
    rng = random.Random(1)
    for attempt, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
        delays = [policy.backoff_s(attempt, rng) for _ in range(50)]
        assert all(cap / 2 <= d <= cap for d in delays)
        assert len(set(delays)) > 1


def test_a_429_with_an_http_date_is_waited_for_then_succeeds() -> None:
    # The real cloud sends delta-seconds; an HTTP date (RFC 9110 §10.2.3) comes from proxies.
    answers = iter(
        [
            httpx.Response(
                429,
                headers={"Retry-After": "2"},
                json={
                    "error": {
                        "code": "rate_limit_exceeded",
                        "message": "slow down",
                        "request_id": "req_a",
                    }
                },
            ),
            httpx.Response(
                200,
                json={
                    "data": [],
                    "pagination": {"page": 1, "per_page": 20, "total": 0, "total_pages": 0},
                },
            ),
        ]
    )
    waits: list[float] = []
    http = httpx.Client(transport=httpx.MockTransport(lambda _r: next(answers)))
    client = Client(api_key="k", base_url="http://127.0.0.1:9", http_client=http)
    client._sleep = waits.append
    assert client.printers.list().data == []
    assert waits == [2.0]
    client._sleep = waits.append
    answers = iter(
        [httpx.Response(429, json={"error": {"code": "rate_limit_exceeded", "message": "no"}})] * 3
    )
    with pytest.raises(RateLimitError) as info:
        client.printers.list()
    assert info.value.retry_after_s is None and len(waits) == 3  # 1 + two backoffs


def test_rate_limit_headers_draft_11_and_the_older_names() -> None:
    draft = {"ratelimit-policy": '"default";q=600;w=60', "ratelimit": '"default";r=599;t=42'}
    assert rate_limit_from(draft) == RateLimit(limit=600, remaining=599, reset_s=42, window_s=60)
    older = {"ratelimit-limit": "100", "ratelimit-remaining": "7", "ratelimit-reset": "3"}
    assert rate_limit_from(older) == RateLimit(limit=100, remaining=7, reset_s=3)
    assert rate_limit_from({**older, **draft}) == rate_limit_from(draft)
    assert rate_limit_from({"content-type": "application/json"}) is None
    assert rate_limit_from({"ratelimit": '"default";r=x;t=1'}) == RateLimit(None, None, 1.0)
