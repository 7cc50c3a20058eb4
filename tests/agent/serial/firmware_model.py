"""A minimal in-memory firmware for wiring the pure protocol to a peer, wsproto-style.

Not a simulator of timing: it models only what the protocol must get right — a receive
buffer that loses bytes beyond its size, line-number and checksum checks with each
dialect's error and resend replies, in-order processing with one ok per command, and noise
on both directions. The pty simulator in agent/sim covers the rest in the driver tests.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from functools import reduce
from operator import xor


@dataclass
class FirmwareModel:
    dialect: str  # marlin | prusa | smoothieware | reprapfirmware | klipper | marlin-no-ok
    rx_buffer_bytes: int = 128
    queue_depth: int = 4
    corrupt_rx_share: float = 0.0
    corrupt_tx_share: float = 0.0
    drop_ok_share: float = 0.0
    advanced_ok: bool = False
    seed: int = 1
    executed: list[str] = field(default_factory=list)
    overflowed_bytes: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._rx = bytearray()
        self._queue: deque[tuple[str, int]] = deque()
        self._last_n = 0
        self._out: list[str] = []

    # host -> firmware
    def feed(self, data: bytes) -> None:
        # Bytes arrive one after another and the firmware's main loop moves each complete
        # line into its command queue while there is room (Marlin get_serial_commands).
        for line in data.split(b"\n")[:-1]:
            self._receive(self._maybe_corrupt(line, self.corrupt_rx_share) + b"\n")
            self._read_lines()

    def _receive(self, data: bytes) -> None:
        room = self.rx_buffer_bytes - 1 - len(self._rx)
        if len(data) > room:
            self.overflowed_bytes += len(data) - max(room, 0)
            data = data[: max(room, 0)]
        self._rx += data

    def _maybe_corrupt(self, line: bytes, share: float) -> bytes:
        if not line or self._rng.random() >= share:
            return line
        data = bytearray(line)
        index = self._rng.randrange(len(data))
        data[index] ^= 1 << self._rng.randrange(7)
        if data[index] in (10, 13):
            data[index] = 63
        return bytes(data)

    def _read_lines(self) -> None:
        while len(self._queue) < self.queue_depth:
            end = self._rx.find(b"\n")
            if end < 0:
                return
            raw = bytes(self._rx[:end]).decode("latin-1").strip()
            del self._rx[: end + 1]
            if raw:
                self._accept(raw)

    def _accept(self, raw: str) -> None:
        if self.dialect == "klipper":
            command = raw.split("*", maxsplit=1)[0]
            if command.startswith("N"):
                command = command.split(" ", 1)[1]
            self._queue.append((command, -1))
            return
        if not raw.startswith("N"):
            if "*" in raw:
                # Marlin: MSG_ERR_NO_LINENUMBER_WITH_CHECKSUM (a corrupted "N").
                return self._line_error("No Line Number with checksum")
            self._queue.append((raw, -1))
            return
        head, star, given = raw.rpartition("*")
        number_text, _, command = head.partition(" ")
        try:
            number = int(number_text[1:])
        except ValueError:
            number = -99
        is_m110 = command.startswith("M110")
        if number != self._last_n + 1 and not is_m110:
            return self._line_error("Line Number is not Last Line Number+1")
        if not star or str(reduce(xor, head.encode("latin-1"), 0)) != given:
            return self._line_error("checksum mismatch")
        self._last_n = int(command.split("N")[1]) if is_m110 and "N" in command else number
        self._queue.append((command, number))

    def _line_error(self, message: str) -> None:
        if self.dialect == "reprapfirmware":
            return  # StringParser::LineFinished discards the line without a word
        if self.dialect == "smoothieware":
            self._out.append(f"rs N{self._last_n + 1}")
        else:
            self._out.append(f"Error:{message}, Last Line: {self._last_n}")
            self._rx.clear()  # Marlin drains its receive buffer (gcode_line_error)
            self._out.append(f"Resend: {self._last_n + 1}")
            if self.dialect != "marlin-no-ok":
                self._out.append("ok")

    # firmware -> host
    def process(self, commands: int = 1) -> bytes:
        for _ in range(commands):
            if not self._queue:
                break
            command, number = self._queue.popleft()
            self.executed.append(command)
            if command.startswith("M110"):
                # Marlin's gcode_M110 sets the line number again when it runs, after the
                # lines behind it in the queue were parsed.
                self._last_n = int(command.split("N")[1]) if "N" in command else 0
            if command.startswith("M105"):
                self._out.append("ok T:21.0 /0.0 B:20.5 /0.0 @:0 B@:0")
            elif self._rng.random() < self.drop_ok_share:
                pass
            elif self.advanced_ok and number >= 0:
                free = self.queue_depth - len(self._queue) - 1
                self._out.append(f"ok N{number} P15 B{free}")
            else:
                self._out.append("ok")
            self._read_lines()
        out = [self._maybe_corrupt(x.encode(), self.corrupt_tx_share) for x in self._out]
        self._out = []
        return b"".join(x + b"\n" for x in out)
