"""Jittered exponential backoff, for every reconnect loop (MQTT links, printer supervisors).

"Full jitter": the delay is uniform in [0, min(cap, base * 2**attempt)], so a fleet of
agents that lost the broker at the same moment does not come back at the same moment.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(
        self, *, base_s: float = 0.5, cap_s: float = 30.0, rng: random.Random | None = None
    ) -> None:
        if base_s <= 0 or cap_s < base_s:
            raise ValueError("backoff needs 0 < base_s <= cap_s")
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay_s(self) -> float:
        """The delay before the next try; each call counts one more failure."""
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.attempt, 32)))
        self.attempt += 1
        return self._rng.uniform(self.base_s / 2, ceiling)

    def reset(self) -> None:
        """Call after a success, so the next failure starts from the base delay again."""
        self.attempt = 0
