"""What a simulated printer is: dialect, link, buffers, timings and injected faults.

Every field that a dialect fixes in real firmware (receive-buffer size, command-queue depth,
ADVANCED_OK) defaults to ``None`` here and is resolved from the dialect in `resolved()`, so
``SimConfig(dialect="klipper")`` behaves like Klipper without restating its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, get_args

Dialect = Literal["marlin", "prusa", "klipper", "reprapfirmware"]
DIALECTS: tuple[Dialect, ...] = get_args(Dialect)


class SimConfigError(ValueError):
    """A simulator setting is out of range; the message names the field."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    dialect: Dialect = "marlin"
    # UART speed; 10 bits per byte (8N1) in each direction. None: no wire limit at all,
    # which is also what a native-USB board or Klipper's pseudo-tty really gives.
    baud: int | None = 115200
    # One-way delay added to each direction (USB frames, bridge chips).
    latency_s: float = 0.001
    # Firmware receive ring in bytes; bytes arriving while it is full are lost, as on a
    # UART (Marlin #20367). None: the link is flow-controlled (Klipper reads its pty only
    # while it has room, native USB NAKs), so nothing is lost and the host's write blocks.
    rx_buffer_bytes: int | None = None
    # Force the flow-controlled link (True) or the lossy ring (False); None: the dialect's.
    flow_control: bool | None = None
    # Commands parsed and waiting, the one being processed included (Marlin BUFSIZE).
    command_queue: int | None = None
    # Time the firmware spends on one ordinary command before it answers `ok`.
    processing_s_per_command: float | None = None
    # Longest line the firmware keeps (Marlin MAX_CMD_SIZE 96); the rest is dropped.
    max_line_bytes: int = 96
    # Planner: each G0-G3 becomes a block that takes this long to execute; the `ok` of a
    # move waits while all planner_blocks are busy. 0 disables the planner model.
    move_s_per_block: float = 0.0
    planner_blocks: int = 16
    homing_s: float = 0.5
    hotends: int = 1
    heat_rate_c_per_s: float = 20.0
    bed_heat_rate_c_per_s: float | None = None  # None: half the hotend rate
    ambient_c: float = 22.0
    # Marlin TEMP_RESIDENCY_TIME: M109 waits this long after reaching the window.
    residency_s: float = 0.0
    advanced_ok: bool | None = None
    auto_report: bool = True
    emergency_parser: bool = True
    # Marlin versions differ on whether an `ok` follows `Resend: N` (field notes §1.1).
    resend_ok: bool | None = None
    # Marlin NO_TIMEOUTS (off by default in Marlin): `wait` after this long with an empty
    # queue, again every interval. Marlin and Prusa only.
    idle_wait_s: float | None = None
    # HOST_KEEPALIVE_FEATURE interval for `echo:busy: processing` (Marlin default 2 s).
    keepalive_s: float = 2.0
    # --- fault injection (seeded) ---
    corrupt_rx_share: float = 0.0
    corrupt_tx_share: float = 0.0
    drop_ok_share: float = 0.0
    busy_every_n: int | None = None
    busy_s: float = 2.5
    reset_after_lines: int | None = None
    # After a reset the firmware hears nothing this long (bootloader), then says `start`.
    boot_s: float = 0.0
    seed: int = 0
    # --- the shell ---
    # Least time between two timer wake-ups of the pty shell (see printer.py).
    wake_granularity_s: float = 0.001
    # --- bookkeeping ---
    # Keep the last N lines each way, with their times, in `SimulatedPrinter.trace` (0: off).
    trace_lines: int = 0
    # Keep at most this many executed commands in memory (None: all); the count is exact.
    executed_limit: int | None = None

    def resolved(self) -> SimConfig:
        """This config with every dialect default filled in, checked."""
        from agent.sim.dialects import spec_for

        if self.dialect not in DIALECTS:
            raise SimConfigError(f"dialect: {self.dialect!r} is not one of {', '.join(DIALECTS)}")
        spec = spec_for(self.dialect)
        rx_bytes = (
            self.rx_buffer_bytes if self.rx_buffer_bytes is not None else spec.rx_buffer_bytes
        )
        flow = self.flow_control if self.flow_control is not None else rx_bytes is None
        out = replace(
            self,
            rx_buffer_bytes=rx_bytes,
            flow_control=flow,
            command_queue=self.command_queue or spec.command_queue,
            processing_s_per_command=self.processing_s_per_command
            if self.processing_s_per_command is not None
            else spec.processing_s,
            advanced_ok=self.advanced_ok if self.advanced_ok is not None else False,
            resend_ok=self.resend_ok if self.resend_ok is not None else spec.resend_ok,
        )
        out._check()
        return out

    def _check(self) -> None:
        for name in ("corrupt_rx_share", "corrupt_tx_share", "drop_ok_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SimConfigError(f"{name}: {value} is not a share between 0 and 1")
        positive = {
            "baud": self.baud,
            "rx_buffer_bytes": self.rx_buffer_bytes,
            "command_queue": self.command_queue,
            "busy_every_n": self.busy_every_n,
            "reset_after_lines": self.reset_after_lines,
            "hotends": self.hotends,
            "planner_blocks": self.planner_blocks,
            "heat_rate_c_per_s": self.heat_rate_c_per_s,
            "keepalive_s": self.keepalive_s,
            "idle_wait_s": self.idle_wait_s,
            "executed_limit": self.executed_limit,
        }
        for name, value in positive.items():
            if value is not None and value <= 0:
                raise SimConfigError(f"{name}: {value} must be positive")
        if not self.flow_control and (self.rx_buffer_bytes is None or self.rx_buffer_bytes < 2):
            raise SimConfigError("rx_buffer_bytes: a lossy ring buffer needs at least 2 bytes")
        if self.max_line_bytes < 8:
            raise SimConfigError("max_line_bytes: must be at least 8")
        for name in (
            "latency_s",
            "move_s_per_block",
            "homing_s",
            "busy_s",
            "wake_granularity_s",
            "boot_s",
        ):
            if getattr(self, name) < 0:
                raise SimConfigError(f"{name}: must not be negative")
