"""The send-ahead ledger: lines in flight, their bytes, the window and the line history.

Two budgets bound what is unacknowledged (field notes §7): bytes within the firmware's
receive buffer minus a reserve, GRBL-style character counting, and lines within its command
queue. The line window shrinks by half on repeated resends (down to one line, which is
OctoPrint's behaviour) and grows back one line per run of clean acknowledgements.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

# In-flight entry kinds.
FILE = 0
COMMAND = 1
PROBE = 2

HISTORY_LINES = 512  # far more than any window; OctoPrint keeps 50 (lastLineBufferSize)
_GROW_AFTER_ACKS = 64  # clean acks before the window grows back by one line
_SHRINK_IF_RESEND_WITHIN = 16  # a resend this soon after the last one halves the window
_MAX_LEARNT_LINES = 64

# (line number or -1, bytes, tag, kind, long-running)
Entry = tuple[int, int, int, int, bool]
# (encoded line, tag, kind, long-running)
Stored = tuple[bytes, int, int, bool]


class SendWindow:
    """What has been sent and not acknowledged, in order. Plain data; the protocol decides."""

    def __init__(self, budget_bytes: int, max_lines: int, *, fixed: bool) -> None:
        self.budget_bytes = budget_bytes
        self.max_lines = max_lines
        self.lines = max_lines
        self._fixed = fixed
        self.entries: deque[Entry] = deque()
        self.bytes = 0
        self._history: list[Stored | None] = [None] * HISTORY_LINES
        self._acks_since_resend = _GROW_AFTER_ACKS

    # --- budgets ---------------------------------------------------------------------------

    # The oldest unacknowledged line is the command being processed: the firmware took it
    # out of its receive buffer into the command queue before running it (Marlin queue.cpp:
    # get_serial_commands fills the ring, advance() runs it, ok_to_send() comes after). So
    # only the bytes after it can still occupy the receive buffer.

    def fits(self, size: int) -> bool:
        entries = self.entries
        return not entries or (
            len(entries) < self.lines and self.bytes - entries[0][1] + size <= self.budget_bytes
        )

    def fits_bytes(self, size: int) -> bool:
        entries = self.entries
        return not entries or self.bytes - entries[0][1] + size <= self.budget_bytes

    def learn_queue_depth(self, free_slots: int) -> None:
        """ADVANCED_OK's B (free command slots) shows the real BUFSIZE: widen to it."""
        if self._fixed or free_slots + 1 <= self.max_lines:
            return
        grown = self.lines == self.max_lines
        self.max_lines = min(free_slots + 1, _MAX_LEARNT_LINES)
        if grown:
            self.lines = self.max_lines

    def acked(self) -> None:
        self._acks_since_resend += 1
        if self._acks_since_resend >= _GROW_AFTER_ACKS and self.lines < self.max_lines:
            self.lines += 1
            self._acks_since_resend = 0

    def resent(self) -> None:
        if self._acks_since_resend < _SHRINK_IF_RESEND_WITHIN:
            self.lines = max(1, self.lines // 2)
        self._acks_since_resend = 0

    # --- adding ----------------------------------------------------------------------------

    def add(self, data: bytes, line: int, tag: int, kind: int, long_running: bool) -> None:
        if line >= 0:
            self._history[line % HISTORY_LINES] = (data, tag, kind, long_running)
        self.entries.append((line, len(data), tag, kind, long_running))
        self.bytes += len(data)

    def stored(self, line: int) -> Stored | None:
        return self._history[line % HISTORY_LINES]

    def readd(self, line: int, stored: Stored) -> None:
        data, tag, kind, long_running = stored
        self.entries.append((line, len(data), tag, kind, long_running))
        self.bytes += len(data)

    def add_unnumbered(self, size: int) -> None:
        self.entries.append((-1, size, -1, COMMAND, False))
        self.bytes += size

    # --- removing --------------------------------------------------------------------------

    def pop_for_ok(self) -> Entry | None:
        """The entry a plain ok acknowledges: the oldest, skipping a probe at the head.

        Probes are retired only by their own "ok T:" reply, so one whose reply was lost
        cannot shift the count.
        """
        entries = self.entries
        if not entries:
            return None
        if entries[0][3] == PROBE and len(entries) > 1:
            entry = entries[1]
            del entries[1]
        else:
            entry = entries.popleft()
        self.bytes -= entry[1]
        return entry

    def pop_through(self, index: int) -> list[Entry]:
        popped = [self.entries.popleft() for _ in range(index + 1)]
        self.bytes -= sum(entry[1] for entry in popped)
        return popped

    def remove(self, matches: Callable[[Entry], bool]) -> list[Entry]:
        removed = [entry for entry in self.entries if matches(entry)]
        if removed:
            self.entries = deque(entry for entry in self.entries if not matches(entry))
            self.bytes -= sum(entry[1] for entry in removed)
        return removed

    def drop_from(self, line: int) -> int:
        """Forget numbered lines >= `line` (the firmware dropped them); count those > line."""
        dropped = self.remove(lambda entry: entry[0] >= line)
        return sum(1 for entry in dropped if entry[0] > line)

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0
        self._history = [None] * HISTORY_LINES

    # --- queries ---------------------------------------------------------------------------

    def probe_index(self) -> int:
        for index, entry in enumerate(self.entries):
            if entry[3] == PROBE:
                return index
        return -1

    def last_index_through(self, line: int) -> int:
        """Index of the last numbered entry <= `line` (ADVANCED_OK's N), or -1."""
        last = -1
        for index, entry in enumerate(self.entries):
            if 0 <= entry[0] <= line:
                last = index
            elif entry[0] > line:
                break
        return last

    def any_long_running(self) -> bool:
        return any(entry[4] for entry in self.entries)

    def oldest_numbered(self) -> int | None:
        return next((entry[0] for entry in self.entries if entry[0] >= 0), None)
