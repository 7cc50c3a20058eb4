"""The outgoing side of the host protocol: queues, numbering, and what the window lets out.

Order on the wire: out-of-band lines, then a rewind's resends, then commands, then file
lines. Commands (including the M105 probe) jump the file, so temperature polls and user
G-code never wait behind it.
"""

from __future__ import annotations

from collections import deque

from agent.serial.encoding import checksum
from agent.serial.window import COMMAND, FILE, PROBE, SendWindow

_FILE_QUEUE_TARGET = 64


class Sender:
    def __init__(
        self,
        window: SendWindow,
        *,
        numbered: bool,
        probe_command: bytes,
        probe_kind: int,
        long_commands: frozenset[bytes],
    ) -> None:
        self._window = window
        self._numbered = numbered
        self.probe_command = probe_command
        self._probe_kind = probe_kind
        self._long_commands = long_commands
        self._cmd_queue: deque[tuple[bytes, int, int]] = deque()
        self._file_queue: deque[tuple[bytes, int]] = deque()
        self.file_held = False
        self.next_line = 0
        self._next_ticket = 0
        self._urgent: list[bytes] = []
        self.resend_from: int | None = None  # next line of a rewind still to send
        self._probe_queued = False
        self.lines_sent = 0
        self._head: tuple[bytes, int, bytes] | None = None
        # Marlin's M110 sets the line number again when it *runs* (gcode_M110), after the
        # lines behind it were parsed: those would then be refused as out of sequence. So
        # nothing numbered follows an M110 until its ok (then `barrier_line` is -1 again).
        self.barrier_line = -1

    @property
    def busy(self) -> bool:
        """Something is queued that the window would send."""
        return bool(
            self._cmd_queue
            or self.resend_from is not None
            or (self._file_queue and not self.file_held)
        )

    @property
    def file_lines_wanted(self) -> int:
        return _FILE_QUEUE_TARGET - len(self._file_queue)

    def command(self, command: bytes, *, front: bool) -> int:
        ticket = self._next_ticket
        self._next_ticket += 1
        item = (command, ticket, COMMAND)
        if front:
            self._cmd_queue.appendleft(item)
        else:
            self._cmd_queue.append(item)
        return ticket

    def urgent(self, data: bytes) -> None:
        self._urgent.append(data)

    def request_probe(self) -> None:
        # One probe at a time: M105 replies carry no number, so two could not be told apart.
        if not self._probe_queued and self._window.probe_index() < 0:
            self._probe_queued = True
            self._cmd_queue.appendleft((self.probe_command, -1, self._probe_kind))

    def file_line(self, command: bytes, end_offset: int) -> None:
        self._file_queue.append((command, end_offset))

    def clear_file_queue(self) -> None:
        self._file_queue.clear()

    def hello(self) -> None:
        # "M110 N0" as line 0 resets the firmware's numbering (Marlin M110; OctoPrint's hello).
        self._cmd_queue.appendleft((b"M110 N0", -1, COMMAND))

    def reset(self) -> None:
        """The firmware rebooted: number from 0 again, drop host-made commands."""
        self.resend_from = None
        self.next_line = 0
        self.barrier_line = -1
        self._urgent = []
        self._cmd_queue = deque(item for item in self._cmd_queue if item[1] >= 0)
        self._probe_queued = False

    # --- producing bytes --------------------------------------------------------------------

    def take(self) -> list[bytes]:
        out = self._urgent
        self._urgent = []
        if self.barrier_line >= 0:
            return out
        if self.resend_from is not None:
            self._take_resends(out)
        if self.resend_from is None and self.barrier_line < 0:
            self._take_queued(out)
        return out

    def _take_resends(self, out: list[bytes]) -> None:
        line = self.resend_from
        assert line is not None
        window = self._window
        while line < self.next_line:
            stored = window.stored(line)
            assert stored is not None
            if not window.fits(len(stored[0])):
                self.resend_from = line
                return
            window.readd(line, stored)
            out.append(stored[0])
            line += 1
            if b" M110" in stored[0][:16] and self._numbered:
                self.barrier_line = line - 1
                self.resend_from = line if line < self.next_line else None
                return
        self.resend_from = None

    def _take_queued(self, out: list[bytes]) -> None:
        cmd_queue = self._cmd_queue
        file_queue = self._file_queue
        window = self._window
        while True:
            if cmd_queue:
                command, tag, kind = cmd_queue[0]
            elif file_queue and not self.file_held:
                command, tag = file_queue[0]
                kind = FILE
            else:
                return
            # The head often waits for the window over several calls: encode it once.
            cached = self._head
            if cached is not None and cached[0] is command and cached[1] == self.next_line:
                data, line = cached[2], cached[1] if self._numbered else -1
            else:
                data, line = self._encode(command)
                self._head = (command, self.next_line, data)
            # A probe usually answers a suspected lost ok, i.e. a window held by a line
            # that is already done: the hard byte budget applies, not the line window.
            if not (window.fits_bytes(len(data)) if kind == PROBE else window.fits(len(data))):
                return
            if kind == FILE:
                file_queue.popleft()
            else:
                cmd_queue.popleft()
                if tag < 0 and command == self.probe_command:
                    self._probe_queued = False
            # Start G-code heats and homes from the file too (M190, M109, G28).
            long_running = command.split(b" ", 1)[0].upper() in self._long_commands
            self._commit(data, line, tag, kind, long_running)
            out.append(data)
            if line >= 0 and command[:4] == b"M110":
                self.barrier_line = line
                return

    def _encode(self, command: bytes) -> tuple[bytes, int]:
        if not self._numbered:
            return command + b"\n", -1
        line = self.next_line
        body = b"N%d %s" % (line, command)
        return b"%s*%d\n" % (body, checksum(body)), line

    def _commit(self, data: bytes, line: int, tag: int, kind: int, long_running: bool) -> None:
        if line >= 0:
            self.next_line = line + 1
        self._window.add(data, line, tag, kind, long_running)
        self.lines_sent += 1

    def force_resend_one(self) -> None:
        """Send the next line of a rewind now, past the window."""
        line = self.resend_from
        assert line is not None
        stored = self._window.stored(line)
        assert stored is not None
        self._window.readd(line, stored)
        self._urgent.append(stored[0])
        self.resend_from = line + 1 if line + 1 < self.next_line else None

    def probe_now(self) -> None:
        """A probe past the window; one still out after a stall lost its reply: forget it."""
        self._window.remove(lambda entry: entry[3] == PROBE)
        data, line = self._encode(self.probe_command)
        self._commit(data, line, -1, PROBE, False)
        self._urgent.append(data)
