"""Feeding one G-code file to the protocol: lazily, cleaned, with progress and ETA.

The file is read a few dozen lines at a time as the protocol's queue drains, so memory
stays bounded whatever the file size; comment-only lines (thumbnails: ~400 kB in a
PrusaSlicer file, field notes §2.2) never reach the wire.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from agent.serial.encoding import clean_line, command_problem
from agent.serial.protocol import HostProtocol

_REFILL_LINES = 16


class FileLineError(Exception):
    """A line of the file cannot be sent (the message names the line)."""


class FileFeeder:
    """Reads `path` and queues its commands into a protocol; owns the open file."""

    def __init__(self, job_id: str, path: Path, started_s: float) -> None:
        self.job_id = job_id
        self.path = path
        self.started_s = started_s
        try:
            self._file: BinaryIO | None = path.open("rb")
            self.size_bytes = path.stat().st_size
        except OSError as exc:
            raise FileLineError(f"cannot read {path}: {exc.strerror}") from exc
        self._line_no = 0
        self.eof = False
        self.last_queued_offset = 0
        self.commands_queued = 0
        # Time spent paused does not count towards the rate used for the ETA.
        self.paused_s = 0.0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def feed(self, protocol: HostProtocol) -> None:
        """Queue lines until the protocol has enough or the file ends."""
        file = self._file
        if file is None or self.eof:
            return
        wanted = protocol.file_lines_wanted
        if wanted < _REFILL_LINES:
            return  # refill in batches: one call per line would cost more than the reading
        while wanted > 0:
            raw = file.readline()
            if not raw:
                self.eof = True
                self.close()
                return
            self._line_no += 1
            command = clean_line(raw.decode("latin-1"))
            if not command:
                continue
            problem = command_problem(command)
            if problem is not None:
                raise FileLineError(f"line {self._line_no}: {problem}: {command[:60]!r}")
            offset = file.tell()
            protocol.queue_file_line(command.encode("ascii"), offset)
            self.last_queued_offset = offset
            self.commands_queued += 1
            wanted -= 1

    def done(self, protocol: HostProtocol) -> bool:
        """Every command of the file acknowledged by the printer."""
        return self.eof and protocol.file_offset_acked >= self.last_queued_offset

    def progress_pct(self, protocol: HostProtocol) -> float:
        if self.done(protocol) or self.size_bytes == 0:
            return 100.0
        return min(100.0, 100.0 * protocol.file_offset_acked / self.size_bytes)

    def remaining_s(self, protocol: HostProtocol, now_s: float) -> float | None:
        """Remaining time from the byte rate so far (None until there is a rate)."""
        active_s = now_s - self.started_s - self.paused_s
        done = protocol.file_offset_acked
        if done <= 0 or active_s <= 1.0:
            return None
        return max(0.0, (self.size_bytes - done) * active_s / done)
