"""Rate-limit response headers (field-notes §5.3)."""

from __future__ import annotations

from cloud.ratelimit import RateDecision, rate_limit_headers


def test_allowed_hit_reports_quota_without_retry_after() -> None:
    decision = RateDecision(
        allowed=True, limit=100, remaining=42, reset_s=17.2, retry_after_s=0.0, window_s=60
    )
    assert rate_limit_headers(decision) == {
        "RateLimit-Policy": '"default";q=100;w=60',
        "RateLimit": '"default";r=42;t=18',
        "RateLimit-Limit": "100",
        "RateLimit-Remaining": "42",
        "RateLimit-Reset": "18",
    }


def test_refused_hit_adds_retry_after_rounded_up_and_at_least_one_second() -> None:
    decision = RateDecision(
        allowed=False, limit=5, remaining=0, reset_s=0.2, retry_after_s=0.2, window_s=1.5
    )
    headers = rate_limit_headers(decision, policy="per-key")
    assert headers["Retry-After"] == "1"
    assert headers["RateLimit-Policy"] == '"per-key";q=5;w=2'
    assert headers["RateLimit"] == '"per-key";r=0;t=1'

    later = RateDecision(
        allowed=False, limit=5, remaining=0, reset_s=29.01, retry_after_s=29.01, window_s=60
    )
    assert rate_limit_headers(later)["Retry-After"] == "30"
