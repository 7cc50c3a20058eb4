"""When a failed request is retried, and after how long (pure: no clock, no I/O).

The rule (also in docs/sdk-python.md):

- ``429 rate_limit_exceeded`` is retried for every method, POST included: the cloud's rate
  limiter refuses the request before any handler runs, so nothing happened. The wait is the
  server's ``Retry-After`` (seconds or an HTTP date, RFC 9110 §10.2.3); a ``Retry-After``
  longer than ``max_retry_after_s`` is not waited for, the `RateLimitError` is raised at once.
- A connection that failed before the request was sent (refused, DNS, connect timeout, no
  free pooled connection) is retried for every method: the server never saw it.
- Failures after the request may have reached the server (read timeout, connection reset
  mid-answer, 502/503/504) are retried only for idempotent methods (GET, HEAD, OPTIONS,
  PUT, DELETE; RFC 9110 §9.2.2), or for any method that carries an ``Idempotency-Key``
  header (draft-ietf-httpapi-idempotency-key-header: a replay returns the stored result).
  PATCH and POST without a key are not: a second create would make a second job.
- Other errors (4xx, 500 ``internal_error``) are never retried: the same request would fail
  the same way.

Waits grow exponentially (``initial_delay_s`` × 2ⁿ, capped at ``max_delay_s``) with "full
jitter" (a uniform draw below the cap) so many clients that failed together do not come
back together.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Gateway-level failures where the request most likely did not run to completion.
RETRYABLE_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry. ``RetryPolicy(max_retries=0)`` disables it."""

    max_retries: int = 2
    initial_delay_s: float = 0.5
    max_delay_s: float = 8.0
    # A 429 asking for a longer wait than this is raised instead of slept through.
    max_retry_after_s: float = 60.0

    def backoff_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """The jittered wait before retry number ``attempt`` (0 for the first retry)."""
        cap = min(self.max_delay_s, self.initial_delay_s * (2**attempt))
        return (rng or random).uniform(cap / 2, cap)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_after_from(headers: Mapping[str, str]) -> float | None:
    """``Retry-After``, else the reset of the draft-11 ``RateLimit`` header (``t=``)."""
    seconds = parse_retry_after(headers.get("retry-after"))
    if seconds is not None:
        return seconds
    # draft-ietf-httpapi-ratelimit-headers-11: `RateLimit: "default";r=0;t=30`
    for item in headers.get("ratelimit", "").split(";"):
        key, _, raw = item.strip().partition("=")
        if key == "t":
            try:
                return max(0.0, float(raw))
            except ValueError:
                return None
    return None


def may_retry_status(method: str, status_code: int, *, idempotency_key: bool) -> bool:
    if status_code == 429:
        return True
    if status_code in RETRYABLE_STATUSES:
        return method.upper() in IDEMPOTENT_METHODS or idempotency_key
    return False


def may_retry_network(method: str, *, sent: bool, idempotency_key: bool) -> bool:
    """``sent`` is False when the connection failed before any byte of the request left."""
    if not sent:
        return True
    return method.upper() in IDEMPOTENT_METHODS or idempotency_key
