"""Rate limiting for the API: a `RateLimiter` seam, one in-process implementation, one shared
through the database (PostgreSQL or SQLite), and the response headers (docs/security.md)."""

from __future__ import annotations

from cloud.ratelimit.base import (
    RateDecision,
    RateLimiter,
    RateLimiterUnavailableError,
    rate_limit_headers,
)
from cloud.ratelimit.memory import MemoryRateLimiter
from cloud.ratelimit.sql import SqlRateLimiter, create_table, rate_limit_windows

__all__ = [
    "MemoryRateLimiter",
    "RateDecision",
    "RateLimiter",
    "RateLimiterUnavailableError",
    "SqlRateLimiter",
    "create_table",
    "rate_limit_headers",
    "rate_limit_windows",
]
