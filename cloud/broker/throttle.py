"""Failed logins, counted per source address: slowed, then locked out for a while.

A pure object with an injected clock. Every failed login from an address is answered only
after ``failure_delay_s`` (a guesser waits; nobody else does, the wait is per connection).
``threshold`` failures within ``window_s`` lock the address out for ``lockout_s``; each
further lockout of the same address within ``forget_after_s`` doubles it, up to
``max_lockout_s``. While an address is locked out every login from it is refused, right
password or not, so the lockout cannot be used to tell a right guess from a wrong one. A
success does not clear the count: an attacker holding one valid login must not be able to
reset the count for the guesses made with another.

Loopback addresses are slowed but never locked out (unless ``lock_loopback``): on one box
the cloud itself logs in from 127.0.0.1, and a misconfigured local client must not lock it
out; whoever can connect from the machine itself is past this line of defence anyway.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    threshold: int = 10
    window_s: float = 60.0
    lockout_s: float = 60.0
    max_lockout_s: float = 900.0
    forget_after_s: float = 3600.0
    failure_delay_s: float = 1.0
    # Addresses tracked at once; the least recently seen is forgotten past this.
    max_addresses: int = 10_000
    lock_loopback: bool = False


@dataclass(slots=True)
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    lockouts: int = 0
    last_lockout_at: float = 0.0


class LoginThrottle:
    def __init__(self, settings: ThrottleSettings, clock: Clock) -> None:
        self.settings = settings
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def locked_for_s(self, address: str) -> float:
        """Seconds this address stays locked out (0 when it may try)."""
        record = self._records.get(address)
        if record is None:
            return 0.0
        return max(0.0, record.locked_until - self._clock())

    def failed(self, address: str) -> bool:
        """Count a failed login; True when it locked the address out."""
        now = self._clock()
        s = self.settings
        record = self._records.pop(address, None) or _Record()
        self._records[address] = record  # most recently seen last
        while len(self._records) > s.max_addresses:
            self._records.popitem(last=False)
        record.failures = [t for t in record.failures if now - t < s.window_s]
        record.failures.append(now)
        if len(record.failures) < s.threshold or record.locked_until > now:
            return False
        if not s.lock_loopback and _is_loopback(address):
            return False
        if now - record.last_lockout_at > s.forget_after_s:
            record.lockouts = 0
        record.lockouts += 1
        record.last_lockout_at = now
        duration = min(s.lockout_s * 2 ** (record.lockouts - 1), s.max_lockout_s)
        record.locked_until = now + duration
        record.failures.clear()
        return True


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
