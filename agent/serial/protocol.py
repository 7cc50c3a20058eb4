"""The G-code host protocol as a pure object: bytes in, events out, bytes to send.

No asyncio, no serial port, no clock: the caller passes ``now_s`` in. The transport shell
(`agent.serial.connection`) feeds `receive_data`, writes `data_to_send`, drains `next_event`
and calls `on_timeout` when `next_deadline_s` passes.

Flow control (field notes §7): lines are sent ahead while the unacknowledged bytes fit the
firmware's receive buffer minus a reserve *and* the unacknowledged lines fit its command
queue. Marlin sends ``ok`` only after a command has been processed (gcode.cpp
process_parsed_command → queue.ok_to_send), so unacknowledged bytes bound what can still sit
in the receive buffer and this never overruns it. Oks are matched first-in first-out, or by
the echoed line number of ADVANCED_OK. Lost oks (noise eats them) are repaired by a probe: a
numbered M105 whose "ok T:" reply proves that every earlier line was accepted in order,
because Marlin refuses a line whose number is not the last one + 1.
"""

from __future__ import annotations

from collections import deque

from agent.serial.encoding import checksum, command_problem
from agent.serial.events import (
    NEED_DATA,
    Busy,
    Event,
    FileProgress,
    FirmwareError,
    FirmwareReset,
    LocalProtocolError,
    Message,
    Ok,
    RemoteProtocolError,
    Resend,
    Temperature,
)
from agent.serial.profiles import FirmwareProfile
from agent.serial.responses import (
    LAST_LINE_RE,
    RESEND_RE,
    classify,
    is_comm_error,
    parse_ok_extras,
)

# In-flight entry kinds.
_FILE = 0
_COMMAND = 1
_PROBE = 2

_HISTORY_LINES = 512  # far more than any window; OctoPrint keeps 50 (lastLineBufferSize)
_MAX_PARTIAL_BYTES = 4096  # a line longer than this is noise, not a reply
_FILE_QUEUE_TARGET = 64
_GROW_AFTER_ACKS = 64  # clean acks before the window grows back by one line
_SHRINK_IF_RESEND_WITHIN = 16  # a resend this soon after the last one halves the window

# (line number or -1, bytes, tag, kind, long-running)
_Entry = tuple[int, int, int, int, bool]


class HostProtocol:
    """One printer link's protocol state. Not thread-safe; one owner."""

    def __init__(
        self,
        profile: FirmwareProfile,
        *,
        probe_s: float | None = None,
        max_lines_in_flight: int | None = None,
    ) -> None:
        self.profile = profile
        self._numbered = profile.link.line_numbers
        self._budget_bytes = profile.rx_budget_bytes
        # max_lines_in_flight=1 gives OctoPrint's one-line-in-flight streaming (benchmarks).
        self._max_lines = max_lines_in_flight or profile.link.command_queue_depth
        self._fixed_window = max_lines_in_flight is not None
        self._window_lines = self._max_lines
        self._style = profile.resend.style
        self._ok_follows_resend = profile.resend.ok_follows_resend
        self._use_last_line = profile.resend.error_names_last_line and self._numbered
        self._probe_s = probe_s if probe_s is not None else profile.timeouts.probe_s
        self._long_s = profile.timeouts.long_command_s
        self._long_commands = frozenset(c.upper().encode() for c in profile.timeouts.long_commands)
        self._probe_command = profile.commands.temperature_poll.encode()
        # A probe's reply proves earlier lines arrived only where a bad line is answered;
        # on silent-drop firmware (RepRapFirmware) an M105 is just another command.
        self._probe_kind = _COMMAND if self._style == "silent_drop" else _PROBE

        self._events: deque[Event] = deque()
        self._failure: str | None = None
        self._rx_tail = b""
        self._cmd_queue: deque[tuple[bytes, int, int]] = deque()
        self._file_queue: deque[tuple[bytes, int]] = deque()
        self._file_held = False
        self._in_flight: deque[_Entry] = deque()
        self._in_flight_bytes = 0
        self._history: list[tuple[bytes, int, int, bool] | None] = [None] * _HISTORY_LINES
        self._next_line = 0
        self._next_ticket = 0
        self._urgent: list[bytes] = []
        # Resend state.
        self._resend_from: int | None = None
        self._pending_resend = -1
        self._stale_requests = 0
        self._pair_line = -1
        self._oks_to_swallow = 0
        self._same_line_requests = 0
        self._unknown_request = -1
        self._acks_since_resend = _GROW_AFTER_ACKS
        self._probe_queued = False
        self._awaiting_hello = False
        # Timing.
        self._last_ok_s = 0.0
        self._flight_start_s = 0.0
        self._probes_without_ok = 0
        self._silent_since_s = 0.0
        # Progress.
        self.file_lines_acked = 0
        self.file_offset_acked = 0
        self.resends = 0
        self.lines_sent = 0
        self._hello()

    # --- public surface ----------------------------------------------------------------

    @property
    def window_lines(self) -> int:
        return self._window_lines

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing unacknowledged."""
        return not (self._in_flight or self._cmd_queue or self._resend_from is not None
                    or (self._file_queue and not self._file_held))

    @property
    def file_queue_len(self) -> int:
        return len(self._file_queue)

    @property
    def file_lines_wanted(self) -> int:
        return _FILE_QUEUE_TARGET - len(self._file_queue)

    def send(self, command: str, *, front: bool = False) -> int:
        """Queue a command ahead of file lines; returns the ticket its `Ok` will carry."""
        self._check_usable()
        problem = command_problem(command)
        if problem is not None:
            raise LocalProtocolError(f"{problem}: {command!r}")
        ticket = self._next_ticket
        self._next_ticket += 1
        item = (command.encode("ascii"), ticket, _COMMAND)
        if front:
            self._cmd_queue.appendleft(item)
        else:
            self._cmd_queue.append(item)
        return ticket

    def send_out_of_band(self, command: str) -> None:
        """Write at once, unnumbered, past the window (M112, M108, M410, M876).

        Only for commands the firmware's emergency parser takes straight from the receive
        buffer; the rx reserve keeps room for them.
        """
        self._check_usable()
        problem = command_problem(command)
        if problem is not None:
            raise LocalProtocolError(f"{problem}: {command!r}")
        data = command.encode("ascii") + b"\n"
        self._urgent.append(data)
        if not command.upper().startswith("M112"):
            # M108/M410/M876 are also queued and answered with an ok (OctoPrint counts an
            # ack for them, comm.py L5625-5632); M112 halts the firmware instead.
            self._in_flight.append((-1, len(data), -1, _COMMAND, False))
            self._in_flight_bytes += len(data)

    def request_temperature(self) -> None:
        """Queue an M105 probe ahead of the file (at most one waiting)."""
        if self._failure is None and not self._probe_queued and not self._probe_in_flight():
            # One probe at a time: M105 replies carry no number, so two in flight could not
            # be told apart.
            self._probe_queued = True
            self._cmd_queue.appendleft((self._probe_command, -1, self._probe_kind))

    def queue_file_line(self, command: bytes, end_offset: int) -> None:
        """Queue one cleaned file line; `end_offset` is where it ends in the file."""
        self._file_queue.append((command, end_offset))

    def hold_file(self, held: bool) -> None:
        """Stop (pause) or restart feeding file lines; commands still flow."""
        self._file_held = held

    def clear_file_queue(self) -> None:
        self._file_queue.clear()

    def start_file(self) -> None:
        """Forget the previous file: empty queue, progress counters at zero, not held."""
        self._file_queue.clear()
        self._file_held = False
        self.file_lines_acked = 0
        self.file_offset_acked = 0

    def next_event(self) -> Event:
        if self._events:
            return self._events.popleft()
        if self._failure is not None:
            raise RemoteProtocolError(self._failure)
        return NEED_DATA

    def next_deadline_s(self) -> float | None:
        """When `on_timeout` should next be called, or None while nothing is awaited."""
        if not self._in_flight or self._failure is not None:
            return None
        long_running = any(entry[4] for entry in self._in_flight)
        return max(self._last_ok_s, self._flight_start_s) + (
            self._long_s if long_running else self._probe_s
        )

    def on_timeout(self, now_s: float) -> None:
        """No ok for too long: probe (or resend on silent-drop firmware), then give up."""
        deadline = self.next_deadline_s()
        if deadline is None or now_s < deadline:
            return
        if self._probes_without_ok == 0:
            self._silent_since_s = max(self._last_ok_s, self._flight_start_s)
        self._probes_without_ok += 1
        if self._probes_without_ok > self.profile.timeouts.max_probes:
            self._fail(
                f"printer stopped answering: no ok for {now_s - self._silent_since_s:.1f} s "
                f"after {self._probes_without_ok - 1} probes"
            )
            return
        self._last_ok_s = now_s
        self._stale_requests = 0  # anything stale has arrived by now
        if self._awaiting_hello and self._numbered:
            self._rewind(0, "no ok for the hello")
            return
        if self._retire_confirmed():
            return
        if self._style == "silent_drop" and self._numbered:
            # RepRapFirmware discards a bad line without a word: send the oldest again.
            oldest = next((e[0] for e in self._in_flight if e[0] >= 0), None)
            if oldest is not None:
                self._rewind(oldest, "no ok (line dropped silently)")
                return
        if self._resend_from is not None:
            # The window is held by lines whose oks were lost while the firmware waits for
            # the line it asked for: send that one now.
            self._force_resend_one()
            return
        self._send_probe_now()

    def receive_data(self, data: bytes, now_s: float) -> None:
        if self._failure is not None:
            return
        buffer = self._rx_tail + data if self._rx_tail else data
        lines = buffer.split(b"\n")
        self._rx_tail = lines.pop()
        if len(self._rx_tail) > _MAX_PARTIAL_BYTES:
            self._rx_tail = b""
        acked_before = self.file_lines_acked
        for raw in lines:
            line = raw[:-1] if raw[-1:] == b"\r" else raw
            if line == b"ok":
                self._on_ok("", now_s)
            elif line[:2] == b"ok":
                self._on_ok(line[2:].decode("latin-1").strip(), now_s)
            elif line:
                self._on_line(line.decode("latin-1").strip(), now_s)
        if self.file_lines_acked != acked_before:
            self._events.append(FileProgress(self.file_lines_acked, self.file_offset_acked))

    def data_to_send(self, now_s: float) -> bytes:
        """Every byte the window allows now, in order: resends, commands, file lines."""
        if self._failure is not None:
            return b""
        out = self._urgent
        self._urgent = []
        was_empty = not self._in_flight
        if self._resend_from is not None:
            self._send_resends(out)
        if self._resend_from is None:
            self._send_queue(out)
        if not out:
            return b""
        if was_empty and self._in_flight:
            self._flight_start_s = now_s
        return b"".join(out)

    # --- sending ---------------------------------------------------------------------------

    def _fits(self, size: int) -> bool:
        flight = self._in_flight
        return not flight or (
            len(flight) < self._window_lines and self._in_flight_bytes + size <= self._budget_bytes
        )

    def _send_resends(self, out: list[bytes]) -> None:
        line = self._resend_from
        assert line is not None
        history = self._history
        while line < self._next_line:
            stored = history[line % _HISTORY_LINES]
            assert stored is not None
            data, tag, kind, long_running = stored
            if not self._fits(len(data)):
                self._resend_from = line
                return
            self._in_flight.append((line, len(data), tag, kind, long_running))
            self._in_flight_bytes += len(data)
            out.append(data)
            line += 1
        self._resend_from = None

    def _send_queue(self, out: list[bytes]) -> None:
        cmd_queue = self._cmd_queue
        file_queue = self._file_queue
        while True:
            if cmd_queue:
                command, tag, kind = cmd_queue[0]
            elif file_queue and not self._file_held:
                command, tag = file_queue[0]
                kind = _FILE
            else:
                return
            data, line = self._encode(command)
            if kind == _PROBE:
                # A probe usually answers a suspected lost ok, i.e. a window held by a line
                # that is already done: the hard byte budget applies, not the line window.
                if self._in_flight and self._in_flight_bytes + len(data) > self._budget_bytes:
                    return
            elif not self._fits(len(data)):
                return
            if kind == _FILE:
                file_queue.popleft()
            else:
                cmd_queue.popleft()
                if tag < 0 and command == self._probe_command:
                    self._probe_queued = False
            # Start G-code heats and homes from the file too (M190, M109, G28).
            long_running = command.split(b" ", 1)[0].upper() in self._long_commands
            self._commit(data, line, tag, kind, long_running)
            out.append(data)

    def _encode(self, command: bytes) -> tuple[bytes, int]:
        if not self._numbered:
            return command + b"\n", -1
        line = self._next_line
        body = b"N%d %s" % (line, command)
        return b"%s*%d\n" % (body, checksum(body)), line

    def _commit(self, data: bytes, line: int, tag: int, kind: int, long_running: bool) -> None:
        if line >= 0:
            self._history[line % _HISTORY_LINES] = (data, tag, kind, long_running)
            self._next_line = line + 1
        self._in_flight.append((line, len(data), tag, kind, long_running))
        self._in_flight_bytes += len(data)
        self.lines_sent += 1

    def _force_resend_one(self) -> None:
        line = self._resend_from
        assert line is not None
        stored = self._history[line % _HISTORY_LINES]
        assert stored is not None
        data, tag, kind, long_running = stored
        self._in_flight.append((line, len(data), tag, kind, long_running))
        self._in_flight_bytes += len(data)
        self._urgent.append(data)
        self._resend_from = line + 1 if line + 1 < self._next_line else None

    def _probe_in_flight(self) -> bool:
        return any(entry[3] == _PROBE for entry in self._in_flight)

    def _send_probe_now(self) -> None:
        # A probe still out after a stall lost its reply: forget it, send a fresh one.
        for entry in [e for e in self._in_flight if e[3] == _PROBE]:
            self._in_flight.remove(entry)
            self._in_flight_bytes -= entry[1]
        data, line = self._encode(self._probe_command)
        self._commit(data, line, -1, _PROBE, False)
        self._urgent.append(data)

    def _hello(self) -> None:
        # "M110 N0" as line 0 resets the firmware's numbering (Marlin M110; OctoPrint's hello).
        # Until its ok, resend requests are echoes of lines sent before it (a freshly booted
        # Marlin rejects every old line number with "Last Line: 0"): they are not acted on.
        if self._numbered:
            self._cmd_queue.appendleft((b"M110 N0", -1, _COMMAND))
            self._awaiting_hello = True

    # --- receiving -------------------------------------------------------------------------

    def _on_ok(self, extras: str, now_s: float) -> None:
        if self._oks_to_swallow and not extras:
            # The bare ok Marlin/Prusa print right after "Resend: N" acknowledges no line.
            self._oks_to_swallow -= 1
            return
        self._last_ok_s = now_s
        self._probes_without_ok = 0
        self._pair_line = -1
        if not extras:
            self._credit_one("")
            return
        if extras[0] == "N" and self._credit_advanced(extras):
            return
        facts = parse_ok_extras(extras)
        self._events.extend(facts)
        if facts and isinstance(facts[-1], Temperature) and self._credit_probe(extras):
            return
        if not facts and self._probe_kind == _PROBE and self._numbered:
            # Marlin's ok carries nothing else; "okxok" is two oks merged by noise.
            self.request_temperature()
        self._credit_one(extras)

    def _credit_one(self, text: str) -> None:
        flight = self._in_flight
        if not flight:
            return  # an ok for a line lost in a firmware reset, or a late duplicate
        entry = flight[0]
        if entry[3] == _PROBE and len(flight) > 1:
            # Probes are retired only by their own "ok T:" reply, so a lost one cannot
            # shift the count; credit the first real line instead.
            entry = flight[1]
            del flight[1]
        else:
            flight.popleft()
        self._retire(entry, text)

    def _retire(self, entry: _Entry, text: str) -> None:
        line, size, tag, kind, _ = entry
        self._in_flight_bytes -= size
        if line == 0:
            self._awaiting_hello = False
        if kind == _FILE:
            # Offsets only grow: a line credited by a stray ok and later resent counts once.
            if tag > self.file_offset_acked:
                self.file_offset_acked = tag
                self.file_lines_acked += 1
        elif tag >= 0:
            self._events.append(Ok(tag, text))
        if self._stale_requests and line >= self._pending_resend:
            self._stale_requests = 0  # the firmware is past the resent line
        self._acks_since_resend += 1
        if self._acks_since_resend >= _GROW_AFTER_ACKS and self._window_lines < self._max_lines:
            self._window_lines += 1
            self._acks_since_resend = 0

    def _retire_confirmed(self) -> bool:
        """Retire lines the firmware has confirmed it accepted but whose ok was lost.

        Asking for line R means the firmware accepted every line before R (Marlin's
        sequence check), so those lines cannot be lost; after a stall their oks are taken
        as lost rather than blocking the window for ever.
        """
        confirmed = [e for e in self._in_flight if 0 <= e[0] < self._pending_resend]
        if not confirmed:
            return False
        for entry in confirmed:
            self._in_flight.remove(entry)
            self._retire(entry, "")
        return True

    def _credit_through(self, stop_index: int, text: str) -> None:
        for _ in range(stop_index + 1):
            self._retire(self._in_flight.popleft(), text)

    def _credit_probe(self, text: str) -> bool:
        for index, entry in enumerate(self._in_flight):
            if entry[3] == _PROBE:
                self._credit_through(index, text)
                return True
        return False

    def _credit_advanced(self, extras: str) -> bool:
        # ADVANCED_OK: "ok N<line> P<planner free> B<queue free>" (Marlin queue.cpp ok_to_send).
        parts = extras.split()
        try:
            line = int(parts[0][1:])
            free_slots = next((int(p[1:]) for p in parts[1:] if p[:1] == "B"), None)
        except ValueError:
            return False
        if free_slots is not None and free_slots + 1 > self._max_lines and not self._fixed_window:
            grown = self._window_lines == self._max_lines
            self._max_lines = min(free_slots + 1, 64)
            if grown:
                self._window_lines = self._max_lines
        last = -1
        for index, entry in enumerate(self._in_flight):
            if 0 <= entry[0] <= line:
                last = index
            elif entry[0] > line:
                break
        if last < 0:
            return False
        self._credit_through(last, extras)
        return True

    def _on_line(self, line: str, now_s: float) -> None:
        pair_line, self._pair_line = self._pair_line, -1
        first = line[:1]
        if first in "Rr":
            match = RESEND_RE.match(line)
            if match is not None:
                self._on_resend_line(int(match.group(1)), pair_line, line)
                return
        event = classify(line)
        if isinstance(event, FirmwareError):
            if self._on_error(event, now_s):
                return
        elif isinstance(event, FirmwareReset):
            self._reset()
        elif isinstance(event, Busy):
            self._last_ok_s = now_s
        elif (
            isinstance(event, Message)
            and self._in_flight
            and self._numbered
            and self._probe_kind == _PROBE
            and not line.startswith(("echo:", "//"))
        ):
            # Unrecognised text while lines are out is most often a reply garbled by noise
            # (an ok or a resend request): resynchronise with a probe.
            self.request_temperature()
        self._events.append(event)

    def _on_error(self, event: FirmwareError, now_s: float) -> bool:
        if not is_comm_error(event.message):
            return False
        if self._use_last_line:
            match = LAST_LINE_RE.search(event.message)
            if match is not None:
                # Marlin's gcode_line_error prints "Error:…, Last Line: N", then
                # "Resend: N+1", then "ok": act now, let the pair and its ok pass.
                wanted = int(match.group(1)) + 1
                self._request_resend(wanted, event.message)
                self._pair_line = wanted
                if self._ok_follows_resend:
                    self._oks_to_swallow += 1
        return True

    def _on_resend_line(self, wanted: int, pair_line: int, text: str) -> None:
        if pair_line == wanted:
            return  # the "Resend:" that follows an "Error:…Last Line:" already acted on
        if self._ok_follows_resend:
            self._oks_to_swallow += 1
        if not self._numbered:
            self._events.append(Message(text))
            return
        self._request_resend(wanted, text)

    def _request_resend(self, wanted: int, reason: str) -> None:
        if not self._numbered:
            return
        if wanted >= self._next_line:
            # A request for a line never sent: a garbled number (OctoPrint ignores these,
            # comm.py L4335-4348); the firmware's own sequence check will ask again.
            return
        if wanted < self._next_line - _HISTORY_LINES or self._history[
            wanted % _HISTORY_LINES
        ] is None:
            # Once may be a garbled number; the same request twice is real and unanswerable.
            if wanted == self._unknown_request:
                self._fail(f"printer asked for line {wanted}, which is no longer kept")
            self._unknown_request = wanted
            return
        self._probes_without_ok = 0  # it answers, so it is alive
        if self._awaiting_hello:
            return
        if wanted == self._pending_resend and self._stale_requests > 0:
            # Send-ahead: every line already out after the bad one earns the same request.
            self._stale_requests -= 1
            return
        self._rewind(wanted, reason)

    def _rewind(self, wanted: int, reason: str) -> None:
        if wanted == self._pending_resend:
            self._same_line_requests += 1
            if self._same_line_requests >= self.profile.resend.max_consecutive:
                self._fail(f"printer asked for line {wanted} {self._same_line_requests} times")
                return
        else:
            self._same_line_requests = 0
        kept: deque[_Entry] = deque()
        stale = 0
        for entry in self._in_flight:
            if entry[0] < 0 or entry[0] < wanted:
                kept.append(entry)
            else:
                # The firmware dropped this line (Marlin drains its receive buffer).
                self._in_flight_bytes -= entry[1]
                if entry[0] > wanted:
                    stale += 1
        self._in_flight = kept
        self._resend_from = wanted
        self._pending_resend = wanted
        self._stale_requests = stale
        self.resends += 1
        if self._acks_since_resend < _SHRINK_IF_RESEND_WITHIN:
            self._window_lines = max(1, self._window_lines // 2)
        self._acks_since_resend = 0
        self._events.append(Resend(wanted, reason))

    def _reset(self) -> None:
        """The firmware rebooted: every unacknowledged line is gone; number from 0 again."""
        self._in_flight.clear()
        self._in_flight_bytes = 0
        self._resend_from = None
        self._pending_resend = -1
        self._stale_requests = 0
        self._oks_to_swallow = 0
        self._history = [None] * _HISTORY_LINES
        self._next_line = 0
        self._urgent = []
        self._cmd_queue = deque(item for item in self._cmd_queue if item[1] >= 0)
        self._probe_queued = False
        self._hello()

    def _fail(self, reason: str) -> None:
        if self._failure is None:
            self._failure = reason

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise LocalProtocolError(f"the link has failed: {self._failure}")
