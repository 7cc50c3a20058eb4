"""The serial link, both directions: latency, a 10-bit-per-byte wire, and the firmware's
receive ring that loses what it cannot hold.

Pure and clock-free: times are passed in. Bytes are scheduled in chunks (one arrival time
formula per chunk), never one timer per byte, so the cost is per line, not per byte.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

_EPS_S = 1e-9


def byte_period_s(baud: int | None) -> float:
    # 8N1: a start bit, 8 data bits and a stop bit per byte (field notes §2.1).
    return 0.0 if baud is None else 10.0 / baud


@dataclass(slots=True)
class _Chunk:
    data: bytes
    first_s: float  # arrival time of data[0]
    period_s: float
    last_s: float  # arrival time of the last byte
    pos: int = 0

    def arrived_by(self, when_s: float) -> int:
        """Index one past the last byte that has arrived by `when_s`."""
        if when_s + _EPS_S < self.first_s:
            return self.pos
        if self.period_s == 0.0 or when_s >= self.last_s:
            return len(self.data)
        count = math.floor((when_s - self.first_s) / self.period_s + _EPS_S) + 1
        return max(self.pos, min(len(self.data), count))

    def time_of(self, index: int) -> float:
        return self.first_s + index * self.period_s


class RxPath:
    """Host -> firmware: wire, receive ring, and the line being assembled."""

    def __init__(
        self,
        *,
        baud: int | None,
        latency_s: float,
        ring_bytes: int | None,
        max_line_bytes: int,
        terminators: bytes,
    ) -> None:
        self._period_s = byte_period_s(baud)
        self._latency_s = latency_s
        # An AVR-style ring keeps one slot free to tell full from empty, so a 128-byte
        # RX_BUFFER_SIZE holds 127 bytes (MarlinSerial.h: store only if head+1 != tail).
        self._ring_cap = None if ring_bytes is None else ring_bytes - 1
        self._max_line = max_line_bytes - 1  # MAX_CMD_SIZE includes the terminating NUL
        self._cr_ends_lines = b"\r" in terminators
        self._wire: deque[_Chunk] = deque()
        self._wire_free_s = 0.0
        self._ring = bytearray()
        self._partial = bytearray()
        self.backlog_bytes = 0
        self.dropped_bytes = 0

    @property
    def has_ring_data(self) -> bool:
        return bool(self._ring)

    @property
    def lossless(self) -> bool:
        return self._ring_cap is None

    def receive(self, data: bytes, now_s: float) -> None:
        """Bytes the host wrote at `now_s`: they reach the firmware after the latency,
        one byte-time apart, behind whatever is still on the wire."""
        start_s = max(now_s + self._latency_s, self._wire_free_s)
        first_s = start_s + self._period_s
        last_s = first_s + (len(data) - 1) * self._period_s
        self._wire.append(_Chunk(data, first_s, self._period_s, last_s))
        self._wire_free_s = start_s + len(data) * self._period_s
        self.backlog_bytes += len(data)

    def next_arrival_s(self) -> float:
        if not self._wire:
            return math.inf
        chunk = self._wire[0]
        return chunk.time_of(chunk.pos)

    def next_line_end_s(self) -> float:
        """When the next line terminator arrives; only a line end changes what the
        firmware does next, so the bytes between need no wake-up of their own."""
        for chunk in self._wire:
            end = self._find_end(chunk.data, chunk.pos, len(chunk.data))
            if end >= 0:
                return chunk.time_of(end)
        return math.inf

    def line_from_ring(self) -> bytes | None:
        """A complete line already in the ring (the parser is free again), else None."""
        if not self._ring:
            return None
        end = self._find_end(self._ring, 0, len(self._ring))
        if end < 0:
            self._partial += self._ring
            self._ring.clear()
            return None
        self._partial += self._ring[:end]
        del self._ring[: end + 1]
        return self._finish_line()

    def take_line(self, horizon_s: float) -> tuple[bytes, float] | None:
        """With the parser free: bytes arrived by `horizon_s` up to the next line end.

        Returns the line and the time its terminator arrived, or None when no line end has
        arrived yet (the bytes so far are kept as a partial line)."""
        while self._wire:
            chunk = self._wire[0]
            stop = chunk.arrived_by(horizon_s)
            if stop <= chunk.pos:
                return None
            end = self._find_end(chunk.data, chunk.pos, stop)
            if end >= 0:
                self._partial += chunk.data[chunk.pos : end]
                self._consume(chunk, end + 1)
                return self._finish_line(), chunk.time_of(end)
            self._partial += chunk.data[chunk.pos : stop]
            self._consume(chunk, stop)
        return None

    def fill_ring(self, horizon_s: float) -> bytes:
        """With the parser blocked (command queue full): arriving bytes go into the ring;
        once it is full they are lost, as on a UART. Returns every byte that arrived, so
        an emergency parser can look at them (it sits before the ring, in the ISR)."""
        if self._ring_cap is None:
            return b""
        arrived = bytearray()
        while self._wire:
            chunk = self._wire[0]
            stop = chunk.arrived_by(horizon_s)
            if stop <= chunk.pos:
                break
            arrived += chunk.data[chunk.pos : stop]
            self._consume(chunk, stop)
        room = self._ring_cap - len(self._ring)
        self._ring += arrived[:room]
        self.dropped_bytes += max(0, len(arrived) - room)
        return bytes(arrived)

    def discard(self, horizon_s: float) -> None:
        """A halted firmware reads nothing; its UART still drains the wire."""
        while self._wire:
            chunk = self._wire[0]
            stop = chunk.arrived_by(horizon_s)
            if stop <= chunk.pos:
                return
            self._consume(chunk, stop)

    def drain(self) -> None:
        """Marlin's gcode_line_error(): `while (read_serial(p) != -1)` empties the ring,
        and the partial line is thrown away."""
        self._ring.clear()
        self._partial.clear()

    def reset(self) -> None:
        """Firmware restart: the ring, the partial line and everything the host sent before
        it are gone. A real board spends the reboot in its bootloader and loses what
        arrives meanwhile, so nothing sent before `start` is ever executed."""
        self.drain()
        for chunk in self._wire:
            self.backlog_bytes -= len(chunk.data) - chunk.pos
        self._wire.clear()

    def _find_end(self, data: bytes | bytearray, start: int, stop: int) -> int:
        end = data.find(10, start, stop)  # LF
        if self._cr_ends_lines:
            # CR also ends a line (Marlin, Prusa, RRF); look only before the first LF.
            cr = data.find(13, start, stop if end < 0 else end)
            if cr >= 0:
                return cr
        return end

    def _consume(self, chunk: _Chunk, new_pos: int) -> None:
        self.backlog_bytes -= new_pos - chunk.pos
        chunk.pos = new_pos
        if chunk.pos >= len(chunk.data):
            self._wire.popleft()

    def _finish_line(self) -> bytes:
        # Characters past MAX_CMD_SIZE-1 are ignored (Marlin keeps reading to the line end).
        line = bytes(self._partial[: self._max_line])
        self._partial.clear()
        return line


class TxPath:
    """Firmware -> host: each line leaves after the previous one, at the byte rate, and
    reaches the host one latency later."""

    def __init__(self, *, baud: int | None, latency_s: float) -> None:
        self._period_s = byte_period_s(baud)
        self._latency_s = latency_s
        self._free_s = 0.0

    def deliver_at(self, emit_s: float, size: int) -> float:
        start_s = max(emit_s, self._free_s)
        self._free_s = start_s + size * self._period_s
        return self._free_s + self._latency_s
