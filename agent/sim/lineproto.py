"""Line numbers and checksums as each firmware checks them (pure functions)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.sim.dialects import CheckStyle

_LEADING_INT = re.compile(r"[-+]?\d+")
_LINE_PREFIX = re.compile(r"N[-+]?\d*\s*")


@dataclass(frozen=True, slots=True)
class Accepted:
    command: str  # without line number and checksum
    line_no: int | None


@dataclass(frozen=True, slots=True)
class Rejected:
    """Marlin-style line error; the firmware answers `Error:<message>` and asks for a resend."""

    message: str


@dataclass(frozen=True, slots=True)
class Dropped:
    """RepRapFirmware discards a line with a bad or missing checksum without a word."""


LineResult = Accepted | Rejected | Dropped


# `N<n> <command>*<checksum>` with nothing unusual: the common case, checked in one match.
_SIMPLE = re.compile(r"N(\d+) ([^*]*?)\s*\*(\d+)")


def checksum(data: str) -> int:
    """XOR of every byte before `*` (field notes §1.1)."""
    raw = data.encode("latin-1")
    # Fold the line as one big integer: XOR-ing its halves down to a byte is the XOR of
    # all bytes, in a handful of C-level operations instead of a loop per byte.
    value = int.from_bytes(raw, "little")
    shift = 8
    while shift < len(raw) * 8:
        shift *= 2
    while shift >= 8:
        value ^= value >> shift
        shift //= 2
    return value & 0xFF


def _strtol(text: str) -> int | None:
    # C strtol(): leading digits only; None where there are none (strtol would give 0,
    # kept distinct so a corrupted checksum like `*x` never matches by accident).
    match = _LEADING_INT.match(text.lstrip())
    return int(match.group()) if match else None


def strip_envelope(line: str) -> tuple[str, int | None]:
    """`N12 G1 X1*85` -> (`G1 X1`, 12); the command part as a firmware executes it."""
    line_no: int | None = None
    if line.startswith("N"):
        prefix = _LINE_PREFIX.match(line)
        assert prefix is not None  # the pattern matches any leading N
        line_no = _strtol(line[1:])
        line = line[prefix.end() :]
    star = line.rfind("*")
    if star >= 0:
        line = line[:star]
    return line.strip(), line_no


def check_line(line: str, last_n: int, style: CheckStyle) -> tuple[LineResult, int]:
    """Check one received line; returns the outcome and the new last accepted line number."""
    if style == "ignore":
        command, line_no = strip_envelope(line)
        return Accepted(command, line_no), last_n
    if style == "drop":
        return _check_drop(line, last_n)
    return _check_marlin(line, last_n)


def _check_marlin(line: str, last_n: int) -> tuple[LineResult, int]:
    simple = _SIMPLE.fullmatch(line)
    if simple is not None and "M110" not in line:
        gcode_n = int(simple.group(1))
        if gcode_n != last_n + 1:
            return Rejected(f"Line Number is not Last Line Number+1, Last Line: {last_n}"), last_n
        star = line.rindex("*")
        if int(simple.group(3)) != checksum(line[:star]):
            return Rejected(f"checksum mismatch, Last Line: {last_n}"), last_n
        return Accepted(simple.group(2), gcode_n), gcode_n
    return _check_marlin_general(line, last_n)


def _check_marlin_general(line: str, last_n: int) -> tuple[LineResult, int]:
    # Marlin queue.cpp get_serial_commands(): the N must start the line; for M110 a
    # second N (`N101 M110 N100`) is the number taken; the sequence is checked before
    # the checksum; a line with N but no `*` is an error.
    if not line.startswith("N"):
        command, _ = strip_envelope(line)
        return Accepted(command, None), last_n
    number_text = line[1:]
    if "M110" in line:
        second = line.find("N", line.find("M110") + 4)
        if second >= 0:
            number_text = line[second + 1 :]
    gcode_n = _strtol(number_text)
    if gcode_n is None:
        gcode_n = 0
    if gcode_n != last_n + 1 and "M110" not in line:
        return Rejected(f"Line Number is not Last Line Number+1, Last Line: {last_n}"), last_n
    star = line.rfind("*")
    if star < 0:
        return Rejected(f"No Checksum with line number, Last Line: {last_n}"), last_n
    if _strtol(line[star + 1 :]) != checksum(line[:star]):
        return Rejected(f"checksum mismatch, Last Line: {last_n}"), last_n
    command, line_no = strip_envelope(line)
    return Accepted(command, line_no), gcode_n


def _check_drop(line: str, last_n: int) -> tuple[LineResult, int]:
    # RepRapFirmware StringParser::LineFinished(): a checksum is verified when present; a
    # bad one, or a line number without one, discards the line silently. The number is
    # stored but its sequence is not checked.
    star = line.rfind("*")
    if star >= 0:
        if _strtol(line[star + 1 :]) != checksum(line[:star]):
            return Dropped(), last_n
    elif line.startswith("N"):
        return Dropped(), last_n
    command, line_no = strip_envelope(line)
    return Accepted(command, line_no), line_no if line_no is not None else last_n
