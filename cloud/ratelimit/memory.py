"""A rate limiter for one process: counters in a dict, bounded in size."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cloud.ratelimit.base import RateDecision, check_hit_arguments, decide

DEFAULT_MAX_KEYS: Final = 100_000
DEFAULT_SWEEP_INTERVAL_S: Final = 60.0


@dataclass(slots=True)
class _Window:
    ends_at: float
    hits: int


class MemoryRateLimiter:
    """Per-process counters: right for one worker; several workers each count on their own.

    `hit` never awaits, so under asyncio one hit is atomic without a lock. Expired windows
    are swept at most every `sweep_interval_s`; if `max_keys` live windows exist the oldest
    one is dropped (its key starts a fresh window: a lenient, bounded failure).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
        sweep_interval_s: float = DEFAULT_SWEEP_INTERVAL_S,
    ) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._sweep_interval_s = sweep_interval_s
        self._windows: dict[str, _Window] = {}
        self._next_sweep_at = clock() + sweep_interval_s

    def __len__(self) -> int:
        return len(self._windows)

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        check_hit_arguments(key, limit, window_s)
        now = self._clock()
        if now >= self._next_sweep_at:
            self._sweep(now)
        window = self._windows.get(key)
        if window is None or window.ends_at <= now:
            if window is None and len(self._windows) >= self._max_keys:
                self._sweep(now)
                if len(self._windows) >= self._max_keys:
                    del self._windows[next(iter(self._windows))]
            window = _Window(ends_at=now + window_s, hits=0)
            self._windows[key] = window
        window.hits += 1
        return decide(
            hits=window.hits, limit=limit, window_ends_at=window.ends_at, now=now,
            window_s=window_s,
        )  # fmt: skip

    def _sweep(self, now: float) -> None:
        self._windows = {k: w for k, w in self._windows.items() if w.ends_at > now}
        self._next_sweep_at = now + self._sweep_interval_s
