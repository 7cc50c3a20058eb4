"""Reading what a firmware prints: one line of text in, typed facts out.

Only the slow path lives here; a bare ``ok`` is handled inline by the protocol. Every format
below is a real firmware string (see tests/agent/serial/test_responses.py for the table).
"""

from __future__ import annotations

import re

from agent.serial.events import (
    Busy,
    Capability,
    Event,
    FirmwareError,
    FirmwareInfo,
    FirmwareReset,
    HostAction,
    Message,
    Temperature,
    Wait,
)

# OctoPrint's temperature regex generalised (comm.py L119-122): "T:210.0 /210.0",
# "T0:…/…", "B:…", "C:…", Prusa's "P:" (PINDA) and "A:" (ambient). "@:" and "B@:" power
# values and M109's "E:0 W:?" countdown do not match.
_TEMP_RE = re.compile(
    r"(?:^|\s)(T\d*|B\d*|C|P|A):\s*(-?\d+(?:\.\d+)?)(?:\s*/\s*(-?\d+(?:\.\d+)?))?"
)
_HAS_TEMP_RE = re.compile(r"(?:^|\s)T\d*:\s*-?\d")

# "Resend: 12", "Resend:12", "rs N12", "rs 12" (Marlin, Prusa, Repetier, Smoothie, RRF M998).
# The whole line must match: a digit garbled into a letter must not read as another line.
RESEND_RE = re.compile(r"^(?:resend|rs)[:\s]*N?:?\s*(\d+)\s*$", re.IGNORECASE)
# Marlin/Prusa comm errors: "Error:checksum mismatch, Last Line: 99".
LAST_LINE_RE = re.compile(r"Last Line:\s*(\d+)")
_COMM_ERROR_WORDS = ("checksum", "line number", "last line", "format error", "expected line")

# Words that mean the firmware stopped itself (Marlin language.h kill and thermal texts,
# OctoPrint's regex_marlinKillError, Klipper shutdowns).
_FATAL_WORDS = (
    "kill",
    "halted",
    "thermal runaway",
    "thermal malfunction",
    "maxtemp",
    "mintemp",
    "heating failed",
    "printer stopped",
    "system stopped",
    "watchdog",
    "shutdown",
    "lost communication with mcu",
    "heater",  # RepRapFirmware "Heater 1 fault", Klipper "Heater extruder not heating …"
    "fault",
)

_FIELD_RE = re.compile(r"(?:^|[\s,])([A-Z][A-Z0-9_-]*):\s*")


def parse_temperatures(text: str) -> Temperature | None:
    if _HAS_TEMP_RE.search(text) is None and not text.lstrip().startswith("B:"):
        return None
    readings: dict[str, tuple[float, float | None]] = {}
    for name, actual, target in _TEMP_RE.findall(text):
        readings[name] = (float(actual), float(target) if target else None)
    return Temperature(readings) if readings else None


def parse_firmware_info(text: str) -> FirmwareInfo:
    """Split "FIRMWARE_NAME:Marlin 2.1.2 (…) SOURCE_CODE_URL:… UUID:…" into fields."""
    matches = list(_FIELD_RE.finditer(text))
    fields: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        fields[match.group(1)] = text[match.end() : end].strip().rstrip(",").strip()
    return FirmwareInfo(fields.get("FIRMWARE_NAME", ""), fields)


def is_comm_error(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _COMM_ERROR_WORDS)


def is_fatal(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _FATAL_WORDS)


def parse_ok_extras(extras: str) -> list[Event]:
    """Facts carried on an ok line: Klipper's "ok T0:…", "ok FIRMWARE_NAME:…", M105 replies."""
    if "FIRMWARE_NAME" in extras:
        return [parse_firmware_info(extras[extras.find("FIRMWARE_NAME") :])]
    temps = parse_temperatures(extras)
    return [temps] if temps is not None else []


def classify(line: str) -> Event:
    """One non-ok, non-resend line as an event; unknown text becomes a `Message`."""
    if line == "wait":
        return Wait()
    if line == "start":
        return FirmwareReset()
    head = line[:2]
    if head == "//":
        rest = line[2:].lstrip()
        if rest.startswith("action:"):
            action, _, argument = rest[7:].strip().partition(" ")
            return HostAction(action, argument.strip())
        if rest.startswith("Klipper state: Shutdown"):
            # klippy reports its state change; every later command fails until a restart.
            return FirmwareError(rest, fatal=True)
        return Message(line)
    if head == "!!":
        message = line[2:].strip()
        return FirmwareError(message, is_fatal(message))
    if line.startswith(("Error:", "ERROR:", "error:")):
        message = line[6:].strip()
        return FirmwareError(message, is_fatal(message))
    if line.startswith("Cap:"):
        name, _, value = line[4:].rpartition(":")
        return Capability(name, value.strip() == "1")
    if "FIRMWARE_NAME" in line:
        return parse_firmware_info(line[line.find("FIRMWARE_NAME") :])
    body = line[5:] if line.startswith("echo:") else line
    if body.startswith("busy:"):
        return Busy(body[5:].strip())
    temps = parse_temperatures(line)
    if temps is not None:
        return temps
    return Message(line)
