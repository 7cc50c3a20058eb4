"""Failed-login lockout shared by the simulated printer's MQTT and FTPS logins.

A real printer stops accepting LAN logins for a while after repeated wrong access codes
(issue 17, and bambuddy's setup notes); the agent must not hammer it. The simulator counts
failures across both services and refuses every login, right or wrong, during a lockout.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class LoginGuard:
    def __init__(
        self,
        max_failures: int = 5,
        lockout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._clock = clock
        self._failures = 0
        self._locked_until = 0.0
        self.failures_total = 0

    def allowed(self) -> bool:
        return self.lockout_s <= 0 or self._clock() >= self._locked_until

    def failed(self) -> None:
        self.failures_total += 1
        self._failures += 1
        if self._failures >= self.max_failures and self.lockout_s > 0:
            self._locked_until = self._clock() + self.lockout_s
            self._failures = 0

    def succeeded(self) -> None:
        self._failures = 0
