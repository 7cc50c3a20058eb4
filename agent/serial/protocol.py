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

from agent.serial.encoding import command_problem
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
from agent.serial.resend import ResendTracker
from agent.serial.responses import (
    LAST_LINE_RE,
    RESEND_RE,
    classify,
    is_comm_error,
    parse_ok_extras,
)
from agent.serial.sender import Sender
from agent.serial.window import COMMAND, FILE, HISTORY_LINES, PROBE, Entry, SendWindow

_MAX_PARTIAL_BYTES = 4096  # a line longer than this is noise, not a reply


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
        # max_lines_in_flight=1 gives OctoPrint's one-line-in-flight streaming (benchmarks).
        self._window = SendWindow(
            profile.rx_budget_bytes,
            max_lines_in_flight or profile.link.command_queue_depth,
            fixed=max_lines_in_flight is not None,
        )
        self._style = profile.resend.style
        self._resend = ResendTracker(
            ok_follows_resend=profile.resend.ok_follows_resend,
            max_consecutive=profile.resend.max_consecutive,
        )
        self._use_last_line = profile.resend.error_names_last_line and self._numbered
        self._probe_s = probe_s if probe_s is not None else profile.timeouts.probe_s
        self._long_s = profile.timeouts.long_command_s
        # A probe's reply proves earlier lines arrived only where a bad line is answered;
        # on silent-drop firmware (RepRapFirmware) an M105 is just another command.
        self._probe_kind = COMMAND if self._style == "silent_drop" else PROBE
        self._sender = Sender(
            self._window,
            numbered=self._numbered,
            probe_command=profile.commands.temperature_poll.encode(),
            probe_kind=self._probe_kind,
            long_commands=frozenset(c.upper().encode() for c in profile.timeouts.long_commands),
        )

        self._events: deque[Event] = deque()
        self._failure: str | None = None
        self._rx_tail = b""
        self._awaiting_hello = False
        # Timing.
        self._last_ok_s = 0.0
        self._flight_start_s = 0.0
        self._probes_without_ok = 0
        self._silent_since_s = 0.0
        # Progress.
        self.file_lines_acked = 0
        self.file_offset_acked = 0
        # Counters for the agent's metrics: rewinds acted on, and waits for an ok that ran
        # past their deadline (each one sent a probe or a resend, or failed the link).
        self.resends = 0
        self.timeouts = 0
        self._hello()

    # --- public surface ----------------------------------------------------------------

    @property
    def window_lines(self) -> int:
        return self._window.lines

    @property
    def in_flight(self) -> int:
        return len(self._window.entries)

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing unacknowledged."""
        return not (self._window.entries or self._sender.busy)

    @property
    def file_lines_wanted(self) -> int:
        return self._sender.file_lines_wanted

    @property
    def lines_sent(self) -> int:
        return self._sender.lines_sent

    def send(self, command: str, *, front: bool = False) -> int:
        """Queue a command ahead of file lines; returns the ticket its `Ok` will carry."""
        self._check_usable()
        problem = command_problem(command)
        if problem is not None:
            raise LocalProtocolError(f"{problem}: {command!r}")
        return self._sender.command(command.encode("ascii"), front=front)

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
        self._sender.urgent(data)
        if not command.upper().startswith("M112"):
            # M108/M410/M876 are also queued and answered with an ok (OctoPrint counts an
            # ack for them, comm.py L5625-5632); M112 halts the firmware instead.
            self._window.add_unnumbered(len(data))

    def request_temperature(self) -> None:
        """Queue an M105 probe ahead of the file (at most one waiting)."""
        if self._failure is None:
            self._sender.request_probe()

    def queue_file_line(self, command: bytes, end_offset: int) -> None:
        """Queue one cleaned file line; `end_offset` is where it ends in the file."""
        self._sender.file_line(command, end_offset)

    def hold_file(self, held: bool) -> None:
        """Stop (pause) or restart feeding file lines; commands still flow."""
        self._sender.file_held = held

    def clear_file_queue(self) -> None:
        self._sender.clear_file_queue()

    def start_file(self) -> None:
        """Forget the previous file: empty queue, progress counters at zero, not held."""
        self._sender.clear_file_queue()
        self._sender.file_held = False
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
        if not self._window.entries or self._failure is not None:
            return None
        long_running = self._window.any_long_running()
        return max(self._last_ok_s, self._flight_start_s) + (
            self._long_s if long_running else self._probe_s
        )

    def on_timeout(self, now_s: float) -> None:
        """No ok for too long: probe (or resend on silent-drop firmware), then give up."""
        deadline = self.next_deadline_s()
        if deadline is None or now_s < deadline:
            return
        self.timeouts += 1
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
        self._resend.forget_stale()  # anything stale has arrived by now
        if self._awaiting_hello and self._numbered:
            self._rewind(0, "no ok for the hello")
            return
        if self._retire_confirmed():
            return
        if self._style == "silent_drop" and self._numbered:
            # RepRapFirmware discards a bad line without a word: send the oldest again.
            oldest = self._window.oldest_numbered()
            if oldest is not None:
                self._rewind(oldest, "no ok (line dropped silently)")
                return
        if self._sender.resend_from is not None:
            # The window is held by lines whose oks were lost while the firmware waits for
            # the line it asked for: send that one now.
            self._sender.force_resend_one()
            return
        self._sender.probe_now()

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
        was_empty = not self._window.entries
        out = self._sender.take()
        if not out:
            return b""
        if was_empty and self._window.entries:
            self._flight_start_s = now_s
        return b"".join(out)

    def _hello(self) -> None:
        # Until its ok, resend requests are echoes of lines sent before it (a freshly booted
        # Marlin rejects every old line number with "Last Line: 0"): they are not acted on.
        if self._numbered:
            self._sender.hello()
            self._awaiting_hello = True

    # --- receiving -------------------------------------------------------------------------

    def _on_ok(self, extras: str, now_s: float) -> None:
        if not extras and self._resend.swallow_ok():
            return
        self._last_ok_s = now_s
        self._probes_without_ok = 0
        self._resend.next_line_seen()
        if not extras:
            self._credit_one("")
            return
        if extras[0] == "N" and self._credit_advanced(extras):
            return
        facts = parse_ok_extras(extras)
        self._events.extend(facts)
        if facts and isinstance(facts[-1], Temperature) and self._credit_probe(extras):
            return
        if not facts and self._probe_kind == PROBE and self._numbered:
            # Marlin's ok carries nothing else; "okxok" is two oks merged by noise.
            self.request_temperature()
        self._credit_one(extras)

    def _credit_one(self, text: str) -> None:
        entry = self._window.pop_for_ok()
        # None: an ok for a line lost in a firmware reset, or a late duplicate.
        if entry is not None:
            self._retire(entry, text)

    def _retire(self, entry: Entry, text: str) -> None:
        line, _, tag, kind, _ = entry
        if line == 0:
            self._awaiting_hello = False
        if line == self._sender.barrier_line:
            self._sender.barrier_line = -1
        if kind == FILE:
            # Offsets only grow: a line credited by a stray ok and later resent counts once.
            if tag > self.file_offset_acked:
                self.file_offset_acked = tag
                self.file_lines_acked += 1
        elif tag >= 0:
            self._events.append(Ok(tag, text))
        self._resend.line_acked(line)
        self._window.acked()

    def _retire_confirmed(self) -> bool:
        """Retire lines the firmware has confirmed it accepted but whose ok was lost.

        Asking for line R means the firmware accepted every line before R (Marlin's
        sequence check), so those lines cannot be lost; after a stall their oks are taken
        as lost rather than blocking the window for ever.
        """
        pending = self._resend.pending
        confirmed = self._window.remove(lambda entry: 0 <= entry[0] < pending)
        for entry in confirmed:
            self._retire(entry, "")
        return bool(confirmed)

    def _credit_through(self, stop_index: int, text: str) -> None:
        for entry in self._window.pop_through(stop_index):
            self._retire(entry, text)

    def _credit_probe(self, text: str) -> bool:
        index = self._window.probe_index()
        if index >= 0:
            self._credit_through(index, text)
        return index >= 0

    def _credit_advanced(self, extras: str) -> bool:
        # ADVANCED_OK: "ok N<line> P<planner free> B<queue free>" (Marlin queue.cpp ok_to_send).
        parts = extras.split()
        try:
            line = int(parts[0][1:])
            free_slots = next((int(p[1:]) for p in parts[1:] if p[:1] == "B"), None)
        except ValueError:
            return False
        if free_slots is not None:
            self._window.learn_queue_depth(free_slots)
        last = self._window.last_index_through(line)
        if last < 0:
            return False
        self._credit_through(last, extras)
        return True

    def _on_line(self, line: str, now_s: float) -> None:
        pair_line = self._resend.next_line_seen()
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
            and self._window.entries
            and self._numbered
            and self._probe_kind == PROBE
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
                self._resend.error_requested(wanted)
        return True

    def _on_resend_line(self, wanted: int, pair_line: int, text: str) -> None:
        if not self._resend.resend_line(wanted, pair_line):
            return  # the "Resend:" that follows an "Error:…Last Line:" already acted on
        if not self._numbered:
            self._events.append(Message(text))
            return
        self._request_resend(wanted, text)

    def _request_resend(self, wanted: int, reason: str) -> None:
        if not self._numbered:
            return
        if wanted >= self._sender.next_line:
            # A request for a line never sent: a garbled number (OctoPrint ignores these,
            # comm.py L4335-4348); the firmware's own sequence check will ask again.
            return
        if wanted < self._sender.next_line - HISTORY_LINES or self._window.stored(wanted) is None:
            # Once may be a garbled number; the same request twice is real and unanswerable.
            if self._resend.unknown_line(wanted):
                self._fail(f"printer asked for line {wanted}, which is no longer kept")
            return
        self._probes_without_ok = 0  # it answers, so it is alive
        if self._awaiting_hello:
            return
        if not self._resend.is_stale(wanted):
            self._rewind(wanted, reason)

    def _rewind(self, wanted: int, reason: str) -> None:
        # The firmware dropped every line from `wanted` on (Marlin drains its receive
        # buffer); each one sent after it may still earn a stale request of its own.
        if self._sender.barrier_line >= wanted:
            self._sender.barrier_line = -1  # the M110 is sent again and holds again
        failure = self._resend.rewound(wanted, self._window.drop_from(wanted))
        if failure is not None:
            self._fail(failure)
            return
        self._sender.resend_from = wanted
        self.resends += 1
        self._window.resent()
        self._events.append(Resend(wanted, reason))

    def _reset(self) -> None:
        """The firmware rebooted: every unacknowledged line is gone; number from 0 again."""
        self._window.clear()
        self._resend.reset()
        self._sender.reset()
        self._hello()

    def _fail(self, reason: str) -> None:
        if self._failure is None:
            self._failure = reason

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise LocalProtocolError(f"the link has failed: {self._failure}")
