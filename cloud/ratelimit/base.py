"""The rate-limiter seam, its decision, and the HTTP headers that report it.

Algorithm (both limiters): a fixed window per key that opens at the key's first hit and
lasts `window_s`; every hit in it counts, and a hit is allowed while the count is at most
`limit`. This is the scheme Litestar's own limiter uses (field-notes §5.3), with two changes:
the window opens per key (so all clients do not reset at the same instant) and the counter
can live in the database, shared by every worker process and replica.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Protocol

MAX_KEY_CHARS: Final = 255


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    #: Hits left in the current window after this one (0 once the limit is reached).
    remaining: int
    #: Seconds until the current window ends and the count starts again.
    reset_s: float
    #: 0 when allowed; otherwise how long to wait before the next hit can succeed.
    retry_after_s: float
    window_s: float


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        """Count one hit on `key` and say whether it is within `limit` per `window_s`."""
        ...


class RateLimiterUnavailableError(Exception):
    """The shared counter store could not be reached in time; the caller decides whether
    to fail open (serve the request) or closed (answer 503)."""


def check_hit_arguments(key: str, limit: int, window_s: float) -> None:
    if not 0 < len(key) <= MAX_KEY_CHARS:
        raise ValueError(f"rate-limit keys are 1 to {MAX_KEY_CHARS} characters")
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if not window_s > 0 or math.isinf(window_s):
        raise ValueError("window_s must be a positive number of seconds")


def decide(
    *, hits: int, limit: int, window_ends_at: float, now: float, window_s: float
) -> RateDecision:
    reset_s = max(0.0, window_ends_at - now)
    allowed = hits <= limit
    return RateDecision(
        allowed=allowed,
        limit=limit,
        remaining=max(0, limit - hits),
        reset_s=reset_s,
        retry_after_s=0.0 if allowed else reset_s,
        window_s=window_s,
    )


def rate_limit_headers(decision: RateDecision, *, policy: str = "default") -> dict[str, str]:
    """Response headers for `decision` (field-notes §5.3).

    - `RateLimit-Policy` and `RateLimit`: the current IETF draft
      (draft-ietf-httpapi-ratelimit-headers-11): quota `q`, window `w`, remaining `r`,
      seconds to reset `t`.
    - `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`: the names of drafts -05/-06
      that Litestar's limiter and many clients still read.
    - `Retry-After` (RFC 9110 §10.2.3, delay-seconds) only on a refused hit.
    Seconds round up, so a client that waits what it is told is never early.
    """
    reset = str(math.ceil(decision.reset_s))
    headers = {
        "RateLimit-Policy": f'"{policy}";q={decision.limit};w={math.ceil(decision.window_s)}',
        "RateLimit": f'"{policy}";r={decision.remaining};t={reset}',
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": reset,
    }
    if not decision.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after_s)))
    return headers
