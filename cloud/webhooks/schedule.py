"""When to try a failed delivery again: exponential backoff with jitter.

The default follows the Standard Webhooks retry table (field-notes §4.1: "immediately, 5 s,
5 min, 30 min, 2 h, 5 h, 10 h, …") as the issue fixes it: after the first attempt, retries
5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h later (8 attempts over about 27.6 h), each delay
jittered by ±10 % (field-notes §4.5) so that endpoints failing together do not retry in step.
The policy is a value passed to the worker, so tests use a schedule of milliseconds.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

DEFAULT_DELAYS_S: Final = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
DEFAULT_JITTER: Final = 0.1
#: A receiver's Retry-After is honoured up to this long; beyond it the schedule decides.
MAX_RETRY_AFTER_S: Final = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    #: Delay before retry n (n = 1…len): the number of attempts is len(delays_s) + 1.
    delays_s: tuple[float, ...] = DEFAULT_DELAYS_S
    jitter: float = DEFAULT_JITTER
    random_fn: Callable[[], float] = field(default=random.random, compare=False)

    @property
    def max_attempts(self) -> int:
        return len(self.delays_s) + 1

    def delay_after(self, attempts_made: int, retry_after_s: float | None = None) -> float | None:
        """Seconds to wait after `attempts_made` failed attempts, or None when none is left."""
        if attempts_made < 1 or attempts_made > len(self.delays_s):
            return None
        base = self.delays_s[attempts_made - 1]
        delay = base * (1.0 + self.jitter * (2.0 * self.random_fn() - 1.0))
        if retry_after_s is not None:
            # 429/503 with Retry-After: wait at least that long (field-notes §4.1, "Honour
            # Retry-After"), bounded so a hostile header cannot park a message for a year.
            delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
        return max(delay, 0.0)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
