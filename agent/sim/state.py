"""The firmware's small records: a queued command, the command being processed, counters;
and two helpers the firmware loop uses on every line."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.sim.heaters import Heater

_WORD = re.compile(r"[GMT]\d+(?:\.\d+)?|\S+")


@dataclass(slots=True)
class Command:
    text: str  # as executed: no line number, no checksum, no comment
    line_no: int | None
    word: str  # "G1", "M105", "PAUSE"


@dataclass(slots=True)
class Run:
    """The command being processed (the head of the queue)."""

    cmd: Command | None  # None: an injected busy period with no command behind it
    done_s: float
    reply: Callable[[float], list[str]] | None = None  # lines printed before `ok`
    ok_extra: Callable[[float], str] | None = None  # text on the `ok` line (M105)
    send_ok: bool = True
    record: bool = True
    busy: bool = False  # HOST_KEEPALIVE state IN_HANDLER: `busy:` lines while it runs
    waits_heater: Heater | None = None  # M109/M190: M108 ends the wait
    tick_s: float = math.inf  # next temperature line while waiting for a heater
    after: Callable[[float], None] | None = None  # effect when done (reset, restart)


@dataclass(slots=True)
class Counters:
    executed: int = 0
    resends_requested: int = 0
    lines_dropped: int = 0  # RepRapFirmware-style silent drops
    rx_corrupted: int = 0
    tx_corrupted: int = 0
    oks_dropped: int = 0
    resets: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def word_of(command: str) -> str:
    """`G1 X1` -> `G1`, `g1x1` -> `G1`, `M862.3 P"MK3S"` -> `M862.3`, `PAUSE` -> `PAUSE`."""
    space = command.find(" ")
    word = command if space < 0 else command[:space]
    if word[1:].isdigit() and word[:1] in "GMT":
        return word  # the common case, no regex
    match = _WORD.match(command.upper())
    return match.group() if match else ""


def flip_one(line: str, rng: random.Random, *, skip_first: bool = False) -> str:
    """Flip one bit of one character, never into a line terminator."""
    data = bytearray(line.encode("latin-1"))
    if skip_first and len(data) < 2:
        return line
    pos = rng.randrange(1 if skip_first else 0, len(data))
    for bit in (rng.randrange(7), 0, 1, 2, 3):
        flipped = data[pos] ^ (1 << bit)
        if flipped not in (0x0A, 0x0D, 0x00) and flipped != data[pos]:
            data[pos] = flipped
            break
    return data.decode("latin-1")


@dataclass(slots=True)
class MachineState:
    """What the firmware keeps in RAM besides heaters and position (Prusa-Firmware names
    in the comments); a reset brings every field back to these values."""

    feed_percent: int = 100  # feedmultiply (M220)
    saved_feed_percent: int = 100  # saved_feedmultiply_mm (M220 B / R)
    flow_percent: int = 100  # extrudemultiply (M221)
    # M73: print_percent_done_* (uint8, 255 = unknown), print_time_remaining_* and
    # print_time_to_change_* (uint16 minutes, 0xffff = unknown)
    percent_normal: int = 255
    remaining_normal: int = 0xFFFF
    change_normal: int = 0xFFFF
    percent_silent: int = 255
    remaining_silent: int = 0xFFFF
    change_silent: int = 0xFFFF
    paused: bool = False  # isPrintPaused (M601 / M602)
    sd_mounted: bool = True  # card.mounted: an (empty) card is inserted at boot
    mbl_active: bool = False  # mbl.active: set by G80
    fan_speed: int = 0  # fanSpeed, print fan PWM 0-255 (M106 / M107)
    report_mask: int = 1  # autoReportFeatures mask (M155 C): 1 temps, 2 fans, 4 position
    printer_state: int = 0  # PrinterState (M72): 0 NotReady until a host says otherwise
