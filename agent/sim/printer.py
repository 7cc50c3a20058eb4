"""`SimulatedPrinter`: the firmware model on a pseudo-terminal, on the caller's event loop.

The shell only moves bytes: it reads what the host wrote to the pty, hands it to the
`Firmware` with the time it was read, writes the firmware's lines back when the link model
says they arrive, and keeps one timer for the firmware's next deadline. No task, no thread,
no polling: an idle simulator costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
import os
import tty
import weakref
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

from agent.sim.config import SimConfig
from agent.sim.firmware import Firmware
from agent.sim.link import TxPath, byte_period_s
from agent.sim.state import Counters

log = logging.getLogger(__name__)

# Timers fire up to ~1 ms late (epoll's millisecond timeout); handling events up to half a
# millisecond early balances that, so the link timing stays right on average.
_SLACK_S = 0.0005
# Host bytes not yet taken off the simulated wire; beyond this the pty is not read, so the
# kernel's buffer fills and the host's write blocks (bounded memory, like a real UART path).
_RX_BACKLOG_BYTES = 8192
# Firmware output the host has not read; beyond this new output is lost (a real UART keeps
# sending whether or not anyone listens).
_TX_PENDING_LIMIT_BYTES = 1 << 20


class SimulatorClosed(RuntimeError):
    """The simulated port is gone (unplugged or closed)."""


class SimulatedPrinter:
    """A virtual printer on a pty. ``async with SimulatedPrinter(SimConfig(...)) as sim:``."""

    def __init__(self, config: SimConfig | None = None, *, record_path: str | Path | None = None):
        self.config = (config or SimConfig()).resolved()
        self.executed: list[str] = []
        self.pty_path = ""
        self._record_path = Path(record_path) if record_path is not None else None
        self._record: IO[str] | None = None
        self._record_dirty = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fw: Firmware | None = None
        self._tx = TxPath(baud=self.config.baud, latency_s=self.config.latency_s)
        # Bytes the host writes from now on reach the firmware one latency and one byte-time
        # later at the earliest, so the firmware can always be run that far ahead exactly.
        # This lets one wake-up handle every event inside that window (cheap on CPU).
        self._lookahead_s = self.config.latency_s + byte_period_s(self.config.baud)
        self._tx_queue: deque[tuple[float, bytes]] = deque()
        self._tx_pending_bytes = 0
        self._master = -1
        self._slave = -1
        self._reading = False
        self._writing = False
        self._waker: _SharedWaker | None = None
        self._timer_at: float | None = None  # this printer's pending wake-up, if any
        self._last_pump_s = -1.0
        self._batching = False
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.unplugged = False

    # --- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> SimulatedPrinter:
        self._loop = asyncio.get_running_loop()
        self._waker = _SharedWaker.for_loop(self._loop)
        self._master, self._slave = os.openpty()
        # Raw mode: no echo, no CR/LF translation; the host's client sets raw mode too.
        # Holding the slave open keeps the master readable while the host reconnects.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.pty_path = os.ttyname(self._slave)
        if self._record_path is not None:
            self._record = self._record_path.open("a", encoding="latin-1")
        self._fw = Firmware(self.config, self._loop.time())
        self._fw.on_executed = self._on_executed
        self._set_reading(True)
        log.info("simulated %s printer on %s", self.config.dialect, self.pty_path)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close_port()
        if self._record is not None:
            self._record.close()
            self._record = None
        for _, future in self._waiters:
            if not future.done():
                future.set_exception(SimulatorClosed("simulator closed"))
        self._waiters.clear()

    # --- what tests and the CLI use ----------------------------------------------------------
    @property
    def firmware(self) -> Firmware:
        if self._fw is None:
            raise SimulatorClosed("the simulator is not running (use `async with`)")
        return self._fw

    @property
    def counters(self) -> Counters:
        return self.firmware.counters

    @property
    def trace(self) -> list[tuple[float, str, str]]:
        """The last `trace_lines` lines each way: (time, "<" received or ">" sent, text).
        Received lines are as the firmware saw them (after any injected corruption)."""
        trace = self.firmware.trace
        return list(trace) if trace is not None else []

    @property
    def executed_count(self) -> int:
        return self.firmware.counters.executed

    def unplug(self) -> None:
        """The port vanishes like a pulled USB cable: the host's next read fails (EIO)."""
        self.unplugged = True
        self._close_port()

    def reset(self) -> None:
        """The firmware restarts: prints `start` (its dialect's banner) and forgets state."""
        self._control(lambda fw: fw.reset())

    def trigger_thermal_error(self) -> None:
        self._control(lambda fw: fw.thermal_error())

    def set_busy(self, seconds: float) -> None:
        """Hold all processing for `seconds`, with `echo:busy: processing` keep-alives."""
        self._control(lambda fw: fw.set_busy(seconds))

    def trigger_runout(self, tool: int = 0) -> None:
        """The filament sensor of `tool` reports no filament (the dialect's lines)."""
        self._control(lambda fw: fw.filament_runout(tool))

    def host_action(self, action: str) -> None:
        """Print a host action line now, e.g. `pause` (the user pressed pause on the LCD)."""
        self._control(lambda fw: fw.host_action(action))

    async def wait_executed(self, count: int, timeout_s: float) -> None:
        """Until the printer has executed at least `count` commands in all."""
        if self.firmware.counters.executed >= count:
            return
        assert self._loop is not None
        future: asyncio.Future[None] = self._loop.create_future()
        entry = (count, future)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout_s):
                await future
        except TimeoutError:
            done = self.firmware.counters.executed
            raise TimeoutError(
                f"simulator executed {done} of {count} commands in {timeout_s} s"
            ) from None
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    # --- the byte pump ------------------------------------------------------------------------
    def _control(self, action: Callable[[Firmware], None]) -> None:
        fw = self.firmware
        if self.unplugged:
            raise SimulatorClosed("the simulated printer was unplugged")
        assert self._loop is not None
        # The firmware may already run up to one latency ahead; the control acts there.
        fw.advance(self._loop.time())
        action(fw)
        self._pump()

    def _read(self) -> bytes:
        try:
            return os.read(self._master, 65536)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno != errno.EIO:
                log.warning("simulator read failed: %s", exc)
            # EIO: nobody holds the slave side; the next open brings the host back.
            return b""

    def _on_readable(self) -> None:
        data = self._read()
        fw, loop = self._fw, self._loop
        if data and fw is not None and loop is not None:
            # Only book the bytes: nothing they cause can happen before the lookahead
            # horizon, so the pump waits for the timer (one wake-up for many reads).
            now = loop.time()
            fw.receive(data, now)
            if not fw.wants_bytes(_RX_BACKLOG_BYTES):
                self._set_reading(False)
            # Only ever bring the wake-up forward here: the pending timer may be the one
            # that delivers output (a halted firmware has no deadline of its own).
            wake_s = fw.next_deadline_s() - self._lookahead_s
            if wake_s != float("inf"):
                self._schedule(max(now, wake_s))

    def _read_batched(self, fw: Firmware, now: float) -> None:
        """Take what the host wrote since the last wake-up, with the reader switched off.

        Its exact write time is unknown: it lies between the two wake-ups. Host writes
        mostly answer output written at the last one, so they are dated there, the earliest
        causal time (the model ran only one lookahead past it, and these bytes arrive a
        lookahead later), but never more than one wake granularity before now: a wake-up
        that came late must not let a reply arrive sooner than the wire and the latency
        allow. The middle of the interval, used before, dated a prompt answer half an
        interval late, and with many printers in one process (longer intervals) that alone
        cost send-ahead about 15 % of the wire with 16 printers. Reading each write as it
        comes (reader always on) measured worse still, 75 % with one printer: the read time
        carries whatever the pty and the scheduler add."""
        written_s = max(self._last_pump_s, now - self.config.wake_granularity_s)
        while fw.wants_bytes(_RX_BACKLOG_BYTES):
            data = self._read()
            if not data:
                return
            fw.receive(data, written_s)

    def _pump(self) -> None:
        fw, loop = self._fw, self._loop
        if fw is None or loop is None or self._master < 0:
            return
        now = loop.time()
        if self._batching:
            self._read_batched(fw, now)
        self._last_pump_s = now
        fw.advance(now + self._lookahead_s)
        for emit_s, line in fw.take_output():
            data = (line + "\n").encode("latin-1", "replace")
            if self._tx_pending_bytes + len(data) > _TX_PENDING_LIMIT_BYTES:
                log.warning("host is not reading; simulator output dropped")
                continue
            self._tx_queue.append((self._tx.deliver_at(emit_s, len(data)), data))
            self._tx_pending_bytes += len(data)
        self._flush_tx(now)
        self._after_pump(fw)
        wake_s = fw.next_deadline_s() - self._lookahead_s
        if self._tx_queue and not self._writing:
            wake_s = min(wake_s, self._tx_queue[0][0] - _SLACK_S)
        wants = fw.wants_bytes(_RX_BACKLOG_BYTES)
        # While busy (the next wake-up is at most one granularity away anyway) the host's
        # writes are picked up then, instead of each waking the simulator on its own. When
        # the model falls idle the reader comes back, so a lone line is timed exactly.
        self._batching = wants and wake_s <= now + self.config.wake_granularity_s
        self._set_reading(wants and not self._batching)
        self._schedule(max(wake_s, now))

    def _flush_tx(self, now: float) -> None:
        if self._writing:
            return
        chunks: list[bytes] = []
        queue = self._tx_queue
        while queue and queue[0][0] <= now + _SLACK_S:
            chunks.append(queue.popleft()[1])
        if not chunks:
            return
        data = b"".join(chunks)
        try:
            written = os.write(self._master, data)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            log.warning("simulator write failed: %s", exc)
            written = len(data)
        self._tx_pending_bytes -= written
        if written < len(data):
            # The host is not reading fast enough: wait until the pty can take more.
            queue.appendleft((now, data[written:]))
            self._writing = True
            assert self._loop is not None
            self._loop.add_writer(self._master, self._on_writable)

    def _on_writable(self) -> None:
        assert self._loop is not None
        self._loop.remove_writer(self._master)
        self._writing = False
        self._pump()

    def _after_pump(self, fw: Firmware) -> None:
        if self._record is not None and self._record_dirty:
            self._record.flush()
            self._record_dirty = False
        if self._waiters:
            done = fw.counters.executed
            for count, future in self._waiters:
                if count <= done and not future.done():
                    future.set_result(None)

    def _schedule(self, when_s: float) -> None:
        assert self._waker is not None
        if when_s == float("inf"):
            if self._timer_at is not None:
                self._waker.cancel(self)
                self._timer_at = None
            return
        # Wake-ups, not lines, are what the simulator costs (each one runs cold after the
        # host had the CPU), so they are at least one wake granularity apart (default
        # 1 ms, a USB full-speed frame); events in between are handled together, exactly
        # timed inside the model, and output leaves up to half a granularity early or late.
        when_s = max(when_s, self._last_pump_s + self.config.wake_granularity_s)
        # An early wake-up is harmless and cheaper than moving the pending one.
        if self._timer_at is not None and self._timer_at <= when_s + 1e-6:
            return
        self._timer_at = when_s
        self._waker.schedule(self, when_s)

    def _on_timer(self) -> None:
        self._timer_at = None
        self._pump()

    def _set_reading(self, want: bool) -> None:
        if want == self._reading or self._master < 0 or self._loop is None:
            return
        if want:
            self._loop.add_reader(self._master, self._on_readable)
        else:
            self._loop.remove_reader(self._master)
        self._reading = want

    def _on_executed(self, text: str) -> None:
        executed = self.executed
        executed.append(text)
        limit = self.config.executed_limit
        if limit is not None and len(executed) > limit + limit // 2 + 1:
            del executed[: len(executed) - limit]
        if self._record is not None:
            self._record.write(text + "\n")
            self._record_dirty = True

    def _close_port(self) -> None:
        if self._timer_at is not None and self._waker is not None:
            self._waker.cancel(self)
            self._timer_at = None
        if self._master >= 0 and self._loop is not None:
            self._set_reading(False)
            if self._writing:
                self._loop.remove_writer(self._master)
                self._writing = False
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1
        if self._record is not None:
            self._record.flush()


class _SharedWaker:
    """One timer for every simulated printer on an event loop.

    asyncio sleeps in whole milliseconds (epoll), so each separate timer fires up to 1 ms
    late, and with N printers each due a little after the last that adds up: 16 printers
    in one `apf sim --count 16` process kept the host's oks waiting 0.6 ms on average.
    Here one wake-up serves every printer due within half a millisecond of it (the same
    slack the output already has), so N printers cost about one wake-up, not N.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Weakly: `_WAKERS` holds its values strongly, so a strong reference here would
        # keep every loop that ever ran a printer (one per test) alive for good.
        self._loop = weakref.proxy(loop)
        self._due: dict[SimulatedPrinter, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop) -> _SharedWaker:
        waker = _WAKERS.get(loop)
        if waker is None:
            waker = _WAKERS[loop] = cls(loop)
        return waker

    def schedule(self, printer: SimulatedPrinter, when_s: float) -> None:
        self._due[printer] = when_s
        if when_s < self._timer_at:
            self._arm(when_s)

    def cancel(self, printer: SimulatedPrinter) -> None:
        self._due.pop(printer, None)
        if not self._due and self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = math.inf

    def _arm(self, when_s: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when_s
        self._timer = self._loop.call_at(when_s, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        horizon_s = self._loop.time() + _SLACK_S
        due = sorted(
            (when_s, index, printer)
            for index, (printer, when_s) in enumerate(self._due.items())
            if when_s <= horizon_s
        )
        for _, _, printer in due:
            del self._due[printer]
        for _, _, printer in due:  # the most overdue first
            try:
                printer._on_timer()  # may schedule itself again (and arm the timer)
            except Exception:
                # One printer's bug must not stop the others' clocks (each had its own
                # timer before they shared this one).
                log.exception("simulated printer %s failed", printer.pty_path)
        if self._due:
            earliest_s = min(self._due.values())
            if earliest_s < self._timer_at:
                self._arm(earliest_s)


_WAKERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedWaker] = (
    weakref.WeakKeyDictionary()
)
