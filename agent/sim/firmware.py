"""The simulated firmware: a clock-driven state machine with no I/O.

`receive(data, now)` puts host bytes on the wire; `advance(now)` runs the firmware up to
`now` (lines completing, commands finishing, heaters, auto-reports); `take_output()` gives
the lines it printed, each with the time it printed them; `next_deadline_s()` says when it
next has something to do. The async shell in `agent.sim.printer` only moves bytes and sets
one timer.

The main loop follows Marlin's (queue.cpp): the parser takes bytes from the receive ring
only while the command queue has room; the head command is processed and only then
answered with `ok` (gcode.cpp process_parsed_command -> ok_to_send), which frees its slot.
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Callable

from agent.sim import gcode
from agent.sim.config import SimConfig
from agent.sim.dialects import DialectSpec, spec_for
from agent.sim.eeprom import Eeprom
from agent.sim.heaters import make_heaters
from agent.sim.lineproto import Accepted, Dropped, Rejected, check_line
from agent.sim.link import RxPath
from agent.sim.position import Position
from agent.sim.state import Command, Counters, MachineState, Run, flip_one, word_of

log = logging.getLogger(__name__)

_EMERGENCY_WORDS = (b"M112", b"M108", b"M410")
_EMERGENCY_NAMES = frozenset(("M112", "M108", "M410"))


class Firmware:
    def __init__(self, config: SimConfig, now_s: float) -> None:
        self.config = config.resolved()
        self.spec: DialectSpec = spec_for(self.config.dialect)
        cfg = self.config
        self.rx = RxPath(
            baud=cfg.baud,
            latency_s=cfg.latency_s,
            ring_bytes=None if cfg.flow_control else cfg.rx_buffer_bytes,
            max_line_bytes=cfg.max_line_bytes,
            terminators=b"\n" if self.spec.check_style == "ignore" else b"\n\r",
        )
        assert cfg.command_queue is not None and cfg.processing_s_per_command is not None
        self.queue_cap: int = cfg.command_queue
        self.processing_s: float = cfg.processing_s_per_command
        self.move_s = cfg.move_s_per_block
        self._corrupt_rx = cfg.corrupt_rx_share
        self._corrupt_tx = cfg.corrupt_tx_share
        self._check_style = self.spec.check_style
        self._emergency_early = cfg.emergency_parser or self.spec.check_style != "marlin"
        # Separate streams per fault so enabling one never shifts another's sequence.
        self._rng_rx = random.Random(f"{cfg.seed}:rx")
        self._rng_tx = random.Random(f"{cfg.seed}:tx")
        self._rng_ok = random.Random(f"{cfg.seed}:ok")
        self.counters = Counters()
        self.on_executed: Callable[[str], None] | None = None
        # (time, "<" received | ">" sent, line): what the wire carried, for debugging hosts.
        self.trace: deque[tuple[float, str, str]] | None = (
            deque(maxlen=cfg.trace_lines) if cfg.trace_lines > 0 else None
        )
        self._t = now_s
        self._out: list[tuple[float, str]] = []
        bed_rate = cfg.bed_heat_rate_c_per_s or cfg.heat_rate_c_per_s / 2
        self.tools, self.bed = make_heaters(
            cfg.hotends, cfg.heat_rate_c_per_s, bed_rate, cfg.ambient_c, now_s
        )
        self._reset_in_place_after = cfg.reset_after_lines
        self._boot_done_s = math.inf
        self.queue: deque[Command] = deque()
        self.planner: deque[float] = deque()  # end time of each queued move block
        self.position = Position()
        # Non-volatile: survives resets (D3 writes, the job id a host stored, the SN).
        image = self.spec.eeprom_image
        self.eeprom = Eeprom(image()) if image is not None else Eeprom(b"")
        self.machine = MachineState()
        idle_wait_s = cfg.idle_wait_s if self.spec.check_style == "marlin" else None
        self._idle_wait_s = idle_wait_s or 0.0
        self._init_state()

    def _init_state(self) -> None:
        """Everything a firmware restart forgets."""
        self.last_n = 0
        # Cleared, never replaced: advance() holds references across a reset.
        self.queue.clear()
        self.run: Run | None = None
        self.dead = False
        self.shutdown_reason: str | None = None  # Klipper's shutdown state
        self.active_tool = 0
        self.report_every_s = 0.0
        self.next_report_s = math.inf
        self.planner.clear()
        self.position.reset()
        self.machine = MachineState()
        self.hold_until_s = -math.inf  # injected busy period
        self._next_busy_s: float | None = None
        self._next_wait_s = self._t + self._idle_wait_s if self._idle_wait_s else math.inf
        for heater in (*self.tools, self.bed):
            heater.reset(self._t)

    # --- the shell's interface --------------------------------------------------------
    @property
    def now_s(self) -> float:
        return self._t

    def receive(self, data: bytes, now_s: float) -> None:
        self.rx.receive(data, now_s)

    def take_output(self) -> list[tuple[float, str]]:
        out, self._out = self._out, []
        return out

    def wants_bytes(self, backlog_limit: int) -> bool:
        return self.rx.backlog_bytes < backlog_limit

    def next_deadline_s(self) -> float:
        return min(self._next_event_s(), self._next_byte_s(), self._boot_done_s)

    def advance(self, now_s: float) -> None:
        rx = self.rx
        queue = self.queue
        while True:
            if self.dead:
                if self._boot_done_s <= now_s:
                    rx.discard(self._boot_done_s)
                    self._t = max(self._t, self._boot_done_s)
                    self._booted()
                    continue
                rx.discard(now_s)
                break
            accepting = len(queue) < self.queue_cap
            if accepting and rx.has_ring_data:
                line = rx.line_from_ring()
                if line is not None:
                    self._on_line(line)
                    continue
            # Marlin's loop reads every byte that has arrived into the queue first
            # (get_serial_commands), then processes one command (advance()).
            if accepting and rx.next_arrival_s() <= self._t and self._take_bytes(self._t, True):
                continue
            if self.run is None and queue:
                self._start_next()
            event_s = self._next_event_s()
            horizon_s = event_s if event_s < now_s else now_s
            if rx.next_arrival_s() <= horizon_s and self._take_bytes(horizon_s, accepting):
                continue
            if event_s > now_s:
                break
            self._t = max(self._t, event_s)
            self._fire_event()
        self._t = max(self._t, now_s)

    # --- faults and controls the shell exposes -----------------------------------------
    def reset(self) -> None:
        """The firmware restarts: queue, ring, line numbers and heaters are forgotten.

        For `boot_s` it hears nothing (the bootloader runs; bytes arriving are lost), then
        prints its start banner (Marlin `setup()`: `start` right after MYSERIAL.begin())."""
        self.counters.resets += 1
        self.rx.reset()
        self._init_state()
        if self.config.boot_s > 0:
            self.dead = True
            self._boot_done_s = self._t + self.config.boot_s
            return
        self._booted()

    def _booted(self) -> None:
        self.dead = False
        self._boot_done_s = math.inf
        for line in self.spec.start_lines:
            self.emit(line)

    def thermal_error(self) -> None:
        for line in self.spec.thermal_lines:
            self.emit(line)
        for heater in (*self.tools, self.bed):
            heater.set_target(0.0, self._t)
            heater.faulted = True
        reason = self.spec.thermal_lines[0].removeprefix("!! ")
        self._halt(reason, announce=False, thermal=True)

    def set_busy(self, seconds: float) -> None:
        self.hold_until_s = max(self.hold_until_s, self._t + seconds)
        self._arm_busy()

    def filament_runout(self, tool: int) -> None:
        for line in self.spec.runout_lines(tool):
            self.emit(line)

    def host_action(self, action: str) -> None:
        self.emit(f"{self.spec.action_prefix}{action}")

    # --- output -------------------------------------------------------------------------
    def emit(self, line: str) -> None:
        share = self._corrupt_tx
        if share and self._rng_tx.random() < share and line:
            line = flip_one(line, self._rng_tx)
            self.counters.tx_corrupted += 1
        self._out.append((self._t, line))
        if self.trace is not None:
            self.trace.append((self._t, ">", line))

    def emit_ok(self, cmd: Command | None, extra: str = "") -> None:
        share = self.config.drop_ok_share
        if share and self._rng_ok.random() < share:
            self.counters.oks_dropped += 1
            return
        if extra:
            self.emit(f"ok {extra}")
        elif self.config.advanced_ok and self.spec.check_style == "marlin":
            # Marlin ok_to_send() with ADVANCED_OK: `ok N<line> P<planner free> B<slots free>`;
            # N only when the command carried one; the answered command still holds its slot.
            number = f" N{cmd.line_no}" if cmd is not None and cmd.line_no is not None else ""
            self.emit(f"ok{number} P{self.planner_free()} B{self.queue_cap - len(self.queue)}")
        else:
            self.emit("ok")

    # --- planner ------------------------------------------------------------------------
    def planner_free(self) -> int:
        while self.planner and self.planner[0] <= self._t:
            self.planner.popleft()
        # Marlin planner.moves_free(): BLOCK_BUFFER_SIZE - 1 - moves planned
        return max(0, self.config.planner_blocks - 1 - len(self.planner))

    def planner_empty_s(self) -> float:
        return self.planner[-1] if self.planner else self._t

    # --- internals ----------------------------------------------------------------------
    def _accepting(self) -> bool:
        return len(self.queue) < self.queue_cap

    def _next_byte_s(self) -> float:
        # A full lossless queue leaves the bytes on the wire; a full lossy one drops them,
        # which fill_ring() works out at the next event whenever that is, except that an
        # emergency parser must see a line end as it arrives.
        if self.dead or (
            not self._accepting() and (self.rx.lossless or not self.config.emergency_parser)
        ):
            return math.inf
        return self.rx.next_line_end_s()

    def _next_event_s(self) -> float:
        # Hot path (several times per line): plain comparisons, no temporary list.
        event_s = self.next_report_s
        run = self.run
        if run is not None:
            done_s = run.done_s if run.done_s > self.hold_until_s else self.hold_until_s
            event_s = min(event_s, done_s)
            event_s = min(event_s, run.tick_s)
        busy_s = self._next_busy_s
        if busy_s is not None and busy_s < event_s:
            event_s = busy_s
        event_s = min(event_s, self._next_wait_s)
        return event_s

    def _take_bytes(self, horizon_s: float, accepting: bool) -> bool:
        """Move arrived bytes; True when a line was handled (the state may have changed)."""
        if accepting:
            got = self.rx.take_line(horizon_s)
            if got is None:
                return False
            line, at_s = got
            self._t = max(self._t, at_s)
            self._on_line(line)
            return True
        arrived = self.rx.fill_ring(horizon_s)
        if arrived and self.config.emergency_parser:
            self._scan_emergency(arrived)
        return False

    def _scan_emergency(self, data: bytes) -> None:
        # Marlin's EMERGENCY_PARSER sits in the RX ISR: it acts on M112/M108/M410 as the
        # bytes arrive, even when the ring is full and the line itself is lost.
        for word in _EMERGENCY_WORDS:
            if word in data:
                self._emergency(word.decode())

    def _emergency(self, word: str) -> None:
        gcode.emergency(self, word)

    def _on_line(self, raw: bytes) -> None:
        if b";" in raw:
            raw = raw.split(b";", 1)[0]
        text = raw.decode("latin-1").strip()
        share = self._corrupt_rx
        if share and text and self._rng_rx.random() < share:
            # The flip happens on the wire, before the firmware's checksum check.
            # The leading `N` is spared: Marlin runs a line without N unchecked, so a flipped
            # N would execute garbage; every other flip is caught by the checksum.
            text = flip_one(text, self._rng_rx, skip_first=text.startswith("N"))
            self.counters.rx_corrupted += 1
        if self.trace is not None:
            self.trace.append((self._t, "<", text))
        if not text:
            if self.spec.ack_empty_lines:
                self._enqueue(Command("", None, ""))
            return
        result, self.last_n = check_line(text, self.last_n, self._check_style)
        if type(result) is Accepted:
            word = word_of(result.command)
            if word in _EMERGENCY_NAMES and self._emergency_early:
                self._emergency(word)
                if self.dead:
                    return
            self.queue.append(Command(result.command, result.line_no, word))
            self._next_wait_s = math.inf
        elif isinstance(result, Rejected):
            self._line_error(result)
        elif isinstance(result, Dropped):
            self.counters.lines_dropped += 1

    def _line_error(self, error: Rejected) -> None:
        # Marlin gcode_line_error(): the error, the ring drained, then flush_and_request_
        # resend(): `Resend: last+1` and (in the versions that send it) `ok`.
        self.emit(f"Error:{error.message}")
        self.rx.drain()
        self.counters.resends_requested += 1
        self.emit(f"Resend: {self.last_n + 1}")
        if self.config.resend_ok:
            self.emit("ok")

    def _enqueue(self, cmd: Command) -> None:
        self.queue.append(cmd)
        self._next_wait_s = math.inf

    def _start_next(self) -> None:
        cmd = self.queue[0]
        try:
            self.run = gcode.start(self, cmd)
        except Exception:
            # A bug in a handler must not take the simulator down: answer like firmware
            # that does not understand the command, and keep going.
            log.exception("simulator could not handle %r", cmd.text)
            lines = self.spec.unknown(cmd.text)
            self.run = Run(cmd, self._t + self.processing_s, reply=lambda _t: lines)
        if self.run.busy:
            self._arm_busy()

    def _arm_busy(self) -> None:
        # Marlin host_keepalive(): the deadline moves on every call while not busy, so the
        # first `busy:` line comes one interval after becoming busy, then every interval.
        if self.spec.busy_line is not None and self._next_busy_s is None:
            self._next_busy_s = self._t + self.config.keepalive_s

    def _busy_now(self) -> bool:
        return self.hold_until_s > self._t or (self.run is not None and self.run.busy)

    def _fire_event(self) -> None:
        t = self._t
        run = self.run
        if self._next_busy_s is not None and self._next_busy_s <= t:
            if self._busy_now() and self.spec.busy_line is not None:
                self.emit(self.spec.busy_line)
                self._next_busy_s = t + self.config.keepalive_s
            else:
                self._next_busy_s = None
        elif self.next_report_s <= t:
            if self.spec.autoreport is not None:
                for line in self.spec.autoreport(self, t):
                    self.emit(line)
            else:
                prefix = self.spec.autoreport_prefix or ""
                self.emit(prefix + self.spec.temps(self.tools, self.bed, self.active_tool, t))
            self.next_report_s = t + self.report_every_s
        elif self._next_wait_s <= t:
            # Marlin NO_TIMEOUTS: `wait` while the queue stays empty (queue.cpp
            # get_serial_commands()); a host that counts it as an `ok` runs ahead.
            self.emit("wait")
            self._next_wait_s = t + self._idle_wait_s
        elif run is not None and run.tick_s <= t:
            gcode.heating_tick(self, run)
        elif run is not None and max(run.done_s, self.hold_until_s) <= t:
            self._finish(run)

    def _finish(self, run: Run) -> None:
        self.run = None
        if run.reply is not None:
            for line in run.reply(self._t):
                self.emit(line)
        if run.send_ok:
            self.emit_ok(run.cmd, run.ok_extra(self._t) if run.ok_extra else "")
        if run.cmd is not None and self.queue and self.queue[0] is run.cmd:
            self.queue.popleft()
        if not self.queue and self._idle_wait_s:
            self._next_wait_s = self._t + self._idle_wait_s
        if not self._busy_now():
            self._next_busy_s = None
        if run.cmd is not None and run.record:
            self._record(run.cmd.text)
        if run.after is not None:
            run.after(self._t)

    def _record(self, text: str) -> None:
        self.counters.executed += 1
        if self.on_executed is not None:
            self.on_executed(text)
        limit = self._reset_in_place_after
        if limit is not None and self.counters.executed >= limit:
            self._reset_in_place_after = None
            self.reset()

    def _halt(self, reason: str, *, announce: bool = True, thermal: bool = False) -> None:
        if announce:
            for line in self.spec.kill_lines(reason):
                self.emit(line)
        if self.spec.halt_style == "shutdown":
            self.shutdown_reason = reason
            self.queue.clear()
            self.run = None
            return
        if thermal and self.spec.check_style == "drop":
            # RepRapFirmware keeps talking after a heater fault: heaters off, print paused.
            if self.run is not None and self.run.waits_heater is not None:
                self.run.done_s = self._t
            return
        self.dead = True
        self.queue.clear()
        self.run = None
        self._next_busy_s = None
        self.next_report_s = math.inf

    def halt(self, reason: str) -> None:
        self._halt(reason)

    def record_now(self, text: str) -> None:
        self._record(text)
