"""Which resend requests to act on, and which oks they make meaningless.

Send-ahead provokes duplicates: after a bad line N, every line already on its way is refused
too and earns its own "Resend: N" (Marlin: "Line Number is not Last Line Number+1"). Those
must cause one resend, not several (OctoPrint ignores them the same way, comm.py
L4353-4367). Marlin and Prusa follow each request with an "ok" that acknowledges no line.
"""

from __future__ import annotations


class ResendTracker:
    def __init__(self, *, ok_follows_resend: bool, max_consecutive: int) -> None:
        self._ok_follows = ok_follows_resend
        self._max_consecutive = max_consecutive
        self.pending = -1  # the line of the last request acted on
        self._stale = 0  # requests for `pending` still expected from lines sent before it
        self._pair_line = -1
        self._oks_to_swallow = 0
        self._same_line = 0
        self._unknown = -1

    def swallow_ok(self) -> bool:
        """True for a bare ok that belongs to a resend request."""
        if self._oks_to_swallow:
            self._oks_to_swallow -= 1
            return True
        return False

    def next_line_seen(self) -> int:
        """Call for every non-ok line; returns the line an "Error:" just asked for (or -1)."""
        pair_line, self._pair_line = self._pair_line, -1
        return pair_line

    def error_requested(self, wanted: int) -> None:
        # Marlin's gcode_line_error: "Error:…, Last Line: N", "Resend: N+1", "ok".
        self._pair_line = wanted
        if self._ok_follows:
            self._oks_to_swallow += 1

    def resend_line(self, wanted: int, pair_line: int) -> bool:
        """A "Resend:"/"rs" line; False when it only repeats the error line before it."""
        if pair_line == wanted:
            return False
        if self._ok_follows:
            self._oks_to_swallow += 1
        return True

    def is_stale(self, wanted: int) -> bool:
        if wanted == self.pending and self._stale > 0:
            self._stale -= 1
            return True
        return False

    def unknown_line(self, wanted: int) -> bool:
        """A request for a line no longer kept: True the second time (real, not noise)."""
        repeated = wanted == self._unknown
        self._unknown = wanted
        return repeated

    def rewound(self, wanted: int, stale: int) -> str | None:
        """Record a rewind; returns a failure reason after too many for one line."""
        if wanted == self.pending:
            self._same_line += 1
            if self._same_line >= self._max_consecutive:
                return f"printer asked for line {wanted} {self._same_line} times"
        else:
            self._same_line = 0
        self._unknown = -1
        self.pending = wanted
        self._stale = stale
        return None

    def line_acked(self, line: int) -> None:
        if self._stale and line >= self.pending:
            self._stale = 0  # the firmware is past the resent line

    def forget_stale(self) -> None:
        self._stale = 0

    def reset(self) -> None:
        self.pending = -1
        self._stale = 0
        self._oks_to_swallow = 0
        self._pair_line = -1
