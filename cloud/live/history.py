"""The last 30 minutes of each printer's temperatures, kept in this process for the charts.

A browser cannot know what happened before its page opened, so the live feed records every
printer's temperatures from the agents' `state` and `telemetry` (cloud/live/feed.py), whether
a browser watches or not, and the dashboard reads them back
(`GET /dashboard/api/printers/{id}/temperatures`, cloud/live/temperatures.py).

Pure: no clock, no I/O. The caller says when a message arrived, and that is the sample's
time: one clock (this process's) for recording, forgetting and reading, whatever the agents'
clocks say. A `state` that was already old when it arrived (a retained one the broker
replays when the feed connects) is not a sample of that moment, and is skipped; telemetry is
never retained, so it is taken as it comes (an agent whose clock is wrong loses only its
states' samples, not its 1 Hz telemetry).

Bounded, in samples and in printers:

- at most one sample per printer per second (the first of each second is kept; telemetry
  comes at about 1 Hz, a state on every change), so 1,800 cover 30 minutes;
- a printer's samples live in a ring of fixed capacity: two flat arrays (the time as a
  double; the five temperatures as 16-bit tenths of a degree), 18 bytes a sample, so a full
  ring takes about 32 KB, and a printer seen for a minute only what that minute needs;
- a printer that has said nothing for the window is forgotten, and past `max_printers` the
  one that reported least recently is dropped (an `OrderedDict` in reporting order), so the
  worst case is `max_printers` full rings (about 64 MB for 2,000 printers).

With several replicas each process keeps its own full history: every replica's feed
subscribes to every agent's messages (not through the bridge's shared subscription), so each
can answer for any printer; a replica started a minute ago holds a minute.
"""

from __future__ import annotations

import math
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

from cloud.bridge.inbound import Inbound, StateIn, TelemetryIn
from shared.wire import Temperatures

WINDOW_S: Final = 30 * 60
# One sample a second at most: the capacity of a ring is the window in seconds.
CAPACITY: Final = WINDOW_S
MAX_PRINTERS: Final = 2000
# A state whose own `ts` is older than this when it arrives is not recorded.
MAX_AGE_S: Final = 60.0
# The columns of a sample, in order (the endpoint names them for its readers).
FIELDS: Final = ("ts", "hotend", "hotend_target", "bed", "bed_target", "chamber")
_VALUES: Final = len(FIELDS) - 1
# Temperatures are kept as tenths of a degree in a signed 16-bit integer; this one means
# "not reported" (a heater the printer does not have, or a value it did not send).
_MISSING: Final = -32768
_LIMIT: Final = 32767

Sample = tuple[float, float | None, float | None, float | None, float | None, float | None]
Key = tuple[str, str]  # (org_id, printer_id)


def _tenths(value: float | None) -> int:
    if value is None or not math.isfinite(value):
        return _MISSING
    return max(-_LIMIT, min(_LIMIT, round(value * 10)))


def _degrees(tenths: int) -> float | None:
    return None if tenths == _MISSING else tenths / 10


class _Ring:
    """One printer's samples, oldest first once read; overwrites the oldest when full."""

    __slots__ = ("_capacity", "_start", "_temps", "_ts")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._ts = array("d")
        self._temps = array("h")
        self._start = 0  # where the oldest sample is, once the ring is full

    def __len__(self) -> int:
        return len(self._ts)

    @property
    def newest_ts(self) -> float:
        return self._ts[(self._start - 1) % len(self._ts)]

    def append(self, ts: float, values: Sequence[int]) -> None:
        if len(self._ts) < self._capacity:
            self._ts.append(ts)
            self._temps.extend(values)
            return
        at = self._start
        self._ts[at] = ts
        self._temps[at * _VALUES : (at + 1) * _VALUES] = array("h", values)
        self._start = (at + 1) % self._capacity

    def since(self, since_ts: float) -> list[Sample]:
        count = len(self._ts)
        out: list[Sample] = []
        for n in range(count):
            i = (self._start + n) % count
            ts = self._ts[i]
            if ts < since_ts:
                continue
            t = self._temps[i * _VALUES : (i + 1) * _VALUES]
            out.append(
                (ts, _degrees(t[0]), _degrees(t[1]), _degrees(t[2]), _degrees(t[3]), _degrees(t[4]))
            )
        return out


class TemperatureHistory:
    def __init__(
        self,
        *,
        window_s: float = WINDOW_S,
        capacity: int = CAPACITY,
        max_printers: int = MAX_PRINTERS,
    ) -> None:
        self._window_s = window_s
        self._capacity = capacity
        self._max_printers = max_printers
        # Least recently reported first: the front is what to forget.
        self._rings: OrderedDict[Key, _Ring] = OrderedDict()

    def __len__(self) -> int:
        """Printers with samples."""
        return len(self._rings)

    def observe(self, message: Inbound, received_at: float) -> bool:
        """Record the temperatures of a printer's state or telemetry that arrived at
        `received_at` (Unix seconds); other messages, an old state, and a sample in a second
        that already has one are skipped. True when recorded."""
        match message:
            case StateIn(state=state):
                if state.ts.timestamp() < received_at - MAX_AGE_S:
                    return False
                return self.record(
                    message.org_id, state.printer_id, received_at, state.temperatures
                )
            case TelemetryIn(telemetry=telemetry):
                pid, temps = telemetry.printer_id, telemetry.temperatures
                return self.record(message.org_id, pid, received_at, temps)
        return False

    def record(self, org_id: str, printer_id: str, ts: float, temps: Temperatures) -> bool:
        """Record a sample at `ts` (Unix seconds, this process's clock)."""
        values = [
            _tenths(temps.hotend),
            _tenths(temps.hotend_target),
            _tenths(temps.bed),
            _tenths(temps.bed_target),
            _tenths(temps.chamber),
        ]
        if all(v == _MISSING for v in values):
            return False  # nothing to draw (an offline printer reports no temperatures)
        self._forget_silent(ts)
        key = (org_id, printer_id)
        ring = self._rings.get(key)
        if ring is None:
            while len(self._rings) >= self._max_printers:
                self._rings.popitem(last=False)  # the one that reported least recently
            ring = self._rings[key] = _Ring(self._capacity)
        elif math.floor(ts) <= math.floor(ring.newest_ts):
            # The same second as the last sample (or an earlier one: the clock was set
            # back): kept out, so the ring stays in order.
            return False
        else:
            self._rings.move_to_end(key)
        ring.append(ts, values)
        return True

    def samples(self, org_id: str, printer_id: str, since_ts: float) -> list[Sample]:
        """The printer's samples from `since_ts` on, oldest first."""
        ring = self._rings.get((org_id, printer_id))
        return [] if ring is None else ring.since(since_ts)

    def _forget_silent(self, now_ts: float) -> None:
        """Drop the printers that said nothing for the whole window (a printer removed, an
        agent gone): the front of the order is the one that reported least recently."""
        while self._rings:
            key, oldest = next(iter(self._rings.items()))
            if oldest.newest_ts >= now_ts - self._window_s:
                return
            del self._rings[key]
