# ruff: noqa: E501  (real firmware lines are long)
"""Real firmware lines, one table per kind; sources in agent/serial/responses.py."""

from __future__ import annotations

import pytest

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
from agent.serial.responses import classify, parse_ok_extras, parse_temperatures

TEMPERATURES = [
    # Marlin single hotend, auto-report (leading space) and M105 reply body.
    (" T:210.00 /210.00 B:60.00 /60.00 @:127 B@:64", {"T": (210.0, 210.0), "B": (60.0, 60.0)}),
    # Marlin two hotends and a chamber.
    (
        "T:200.00 /200.00 B:55.10 /60.00 T0:200.00 /200.00 T1:25.30 /0.00 C:30.00 /0.00 @:80 B@:127 @0:80 @1:0",
        {
            "T": (200.0, 200.0),
            "B": (55.1, 60.0),
            "T0": (200.0, 200.0),
            "T1": (25.3, 0.0),
            "C": (30.0, 0.0),
        },
    ),
    # Prusa MK3 with PINDA and ambient.
    (
        "T:215.0 /215.0 B:60.0 /60.0 T0:215.0 /215.0 @:127 B@:64 P:35.2 A:26.1",
        {
            "T": (215.0, 215.0),
            "B": (60.0, 60.0),
            "T0": (215.0, 215.0),
            "P": (35.2, None),
            "A": (26.1, None),
        },
    ),
    # Klipper (heaters.py "%s:%.1f /%.1f").
    ("T0:24.9 /0.0 B:23.8 /0.0", {"T0": (24.9, 0.0), "B": (23.8, 0.0)}),
    # RepRapFirmware: two tools, two beds, chamber.
    (
        "T:24.8 /0.0 T0:24.8 /0.0 T1:25.1 /0.0 B:23.9 /0.0 B1:24.0 /0.0 C:22.0 /0.0",
        {
            "T": (24.8, 0.0),
            "T0": (24.8, 0.0),
            "T1": (25.1, 0.0),
            "B": (23.9, 0.0),
            "B1": (24.0, 0.0),
            "C": (22.0, 0.0),
        },
    ),
    # Marlin M109 countdown: E and W are not sensors.
    ("T:185.43 E:0 W:?", {"T": (185.43, None)}),
]


@pytest.mark.parametrize(("line", "readings"), TEMPERATURES)
def test_temperature_reports(line: str, readings: dict[str, tuple[float, float | None]]) -> None:
    event = classify(line.strip())
    assert isinstance(event, Temperature)
    assert event.readings == readings


LINES: list[tuple[str, Event]] = [
    ("wait", Wait()),
    ("start", FirmwareReset()),
    ("echo:busy: processing", Busy("processing")),
    ("echo:busy: paused for user", Busy("paused for user")),
    ("busy: paused for input", Busy("paused for input")),
    ("//action:pause", HostAction("pause")),
    ("//action:paused filament_runout 0", HostAction("paused", "filament_runout 0")),
    ("//action:filament_runout T0", HostAction("filament_runout", "T0")),
    ("//action:notification Heating...", HostAction("notification", "Heating...")),
    ("// action:resumed", HostAction("resumed")),  # Klipper pause_resume.py
    ("//action:cancel", HostAction("cancel")),
    ("//action:prompt_begin Filament runout", HostAction("prompt_begin", "Filament runout")),
    ("Cap:AUTOREPORT_TEMP:1", Capability("AUTOREPORT_TEMP", True)),
    ("Cap:EMERGENCY_PARSER:0", Capability("EMERGENCY_PARSER", False)),
    ("Error:Printer halted. kill() called!", FirmwareError("Printer halted. kill() called!", True)),
    (
        "Error:Thermal Runaway, system stopped! Heater_ID: 0",
        FirmwareError("Thermal Runaway, system stopped! Heater_ID: 0", True),
    ),
    (
        "Error:MAXTEMP triggered, system stopped! Heater_ID: bed",
        FirmwareError("MAXTEMP triggered, system stopped! Heater_ID: bed", True),
    ),
    (
        "Error:MINTEMP triggered, system stopped! Heater_ID: 0",
        FirmwareError("MINTEMP triggered, system stopped! Heater_ID: 0", True),
    ),
    (
        "Error:Heating failed, system stopped! Heater_ID: 0",
        FirmwareError("Heating failed, system stopped! Heater_ID: 0", True),
    ),
    (
        "Error:Printer stopped due to errors. Fix the error and use M999 to restart.",
        FirmwareError(
            "Printer stopped due to errors. Fix the error and use M999 to restart.", True
        ),
    ),
    (
        "!! Must home axis first: 10.000 10.000 0.200 [0.000]",
        FirmwareError("Must home axis first: 10.000 10.000 0.200 [0.000]", False),
    ),
    (
        "!! Lost communication with MCU 'mcu'",
        FirmwareError("Lost communication with MCU 'mcu'", True),
    ),
    ("// Klipper state: Ready", Message("// Klipper state: Ready")),
    ("// Klipper state: Shutdown", FirmwareError("Klipper state: Shutdown", True)),
    (
        "!! Heater extruder not heating at expected rate",
        FirmwareError("Heater extruder not heating at expected rate", True),
    ),
    (
        "Error: Heater 1 fault: temperature rising much more slowly than the expected 2.1°C/sec",
        FirmwareError(
            "Heater 1 fault: temperature rising much more slowly than the expected 2.1°C/sec", True
        ),
    ),
    (
        "Error: THERMAL RUNAWAY ( PREHEAT HOTEND)",
        FirmwareError("THERMAL RUNAWAY ( PREHEAT HOTEND)", True),
    ),
    (
        "Error: G999: Command is not supported",
        FirmwareError("G999: Command is not supported", False),
    ),
    ('echo:Unknown command: "G999"', Message('echo:Unknown command: "G999"')),
    ("echo:SD card ok", Message("echo:SD card ok")),
    (
        "X:0.00 Y:0.00 Z:0.00 E:0.00 Count X:0 Y:0 Z:0",
        Message("X:0.00 Y:0.00 Z:0.00 E:0.00 Count X:0 Y:0 Z:0"),
    ),
    ("\x8fgarbage\x01", Message("\x8fgarbage\x01")),
]


@pytest.mark.parametrize(("line", "expected"), LINES)
def test_classify(line: str, expected: Event) -> None:
    assert classify(line) == expected


M115 = [
    (
        "FIRMWARE_NAME:Marlin 2.1.2.1 (Jun  1 2023 12:00:00) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin "
        "PROTOCOL_VERSION:1.0 MACHINE_TYPE:Ender-3 V2 EXTRUDER_COUNT:1 UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff",
        "Marlin 2.1.2.1 (Jun  1 2023 12:00:00)",
        "MACHINE_TYPE",
        "Ender-3 V2",
    ),
    (
        "FIRMWARE_NAME:Prusa-Firmware 3.14.0 based on Marlin FIRMWARE_URL:https://github.com/prusa3d/Prusa-Firmware "
        "PROTOCOL_VERSION:1.0 MACHINE_TYPE:Prusa i3 MK3S EXTRUDER_COUNT:1 UUID:00000000-0000-0000-0000-000000000000",
        "Prusa-Firmware 3.14.0 based on Marlin",
        "EXTRUDER_COUNT",
        "1",
    ),
    (
        "FIRMWARE_NAME: RepRapFirmware for Duet 3 MB6HC FIRMWARE_VERSION: 3.5.1 ELECTRONICS: Duet 3 MB6HC v1.01",
        "RepRapFirmware for Duet 3 MB6HC",
        "FIRMWARE_VERSION",
        "3.5.1",
    ),
    (
        "FIRMWARE_NAME:Smoothieware, FIRMWARE_URL:http%3A//smoothieware.org, X-SOURCE_CODE_URL:"
        "https://github.com/Smoothieware/Smoothieware, X-FIRMWARE_BRANCH:edge",
        "Smoothieware",
        "X-FIRMWARE_BRANCH",
        "edge",
    ),
    (
        "FIRMWARE_NAME:Repetier_1.0.4 COMPILED:Dec 28 2020 FIRMWARE_URL:https://github.com/repetier/Repetier-Firmware/ "
        "PROTOCOL_VERSION:1.0 MACHINE_TYPE:Mendel EXTRUDER_COUNT:1 REPETIER_PROTOCOL:3",
        "Repetier_1.0.4",
        "REPETIER_PROTOCOL",
        "3",
    ),
]


@pytest.mark.parametrize(("line", "name", "key", "value"), M115)
def test_m115_lines(line: str, name: str, key: str, value: str) -> None:
    event = classify(line)
    assert isinstance(event, FirmwareInfo)
    assert event.name == name
    assert event.fields[key] == value


def test_klipper_answers_m115_and_m105_on_the_ok_line() -> None:
    (info,) = parse_ok_extras("FIRMWARE_NAME:Klipper FIRMWARE_VERSION:v0.12.0-114-ga77d0790")
    assert isinstance(info, FirmwareInfo)
    assert info.name == "Klipper"
    assert info.fields["FIRMWARE_VERSION"] == "v0.12.0-114-ga77d0790"
    (temps,) = parse_ok_extras("T0:24.9 /0.0 B:23.8 /0.0")
    assert temps == Temperature({"T0": (24.9, 0.0), "B": (23.8, 0.0)})
    assert parse_ok_extras("N12 P15 B3") == []
    assert parse_temperatures("echo:Settings Stored") is None
