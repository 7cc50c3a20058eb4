"""What `apf agent scan` prints: the serial ports it probed and the Moonrakers it found."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from apf.console import table

if TYPE_CHECKING:
    from agent.runtime.scan import ScanResult
    from agent.runtime.scan_moonraker import MoonrakerFound


def serial_table(results: list[ScanResult]) -> Table:
    ports = table(["port", "vid:pid", "serial", "baud", "firmware", "profile"])
    for r in results:
        ports.add_row(
            r.port.device,
            f"{_hex(r.port.vid)}:{_hex(r.port.pid)}",
            r.port.serial_number or "-",
            str(r.baud) if r.baud else "-",
            r.firmware or f"({r.error})",
            r.profile or "-",
        )
    return ports


def moonraker_table(found: list[MoonrakerFound]) -> Table:
    moonrakers = table(["Moonraker", "state"])
    for f in found:
        moonrakers.add_row(f.url, _moonraker_state(f))
    return moonrakers


def _moonraker_state(found: MoonrakerFound) -> str:
    if found.needs_api_key:
        return "answers 401: give its API key (Moonraker's web UI or `/access/api_key`)"
    if found.error:
        return found.error
    return (
        f"Moonraker {found.moonraker_version}, Klipper {found.klipper_version or '-'} "
        f"({found.klippy_state})"
    )


def _hex(value: int | None) -> str:
    return f"{value:04x}" if value is not None else "-"
