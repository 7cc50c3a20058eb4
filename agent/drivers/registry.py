"""The explicit mapping from a printer's connection kind to the factory of its driver.

No lookup by string at import time, no plugin discovery: a new driver kind is one entry
here. Each factory imports its driver lazily, so an agent that drives only serial printers
never imports the OctoPrint client (and the other way round).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.drivers.base import Driver, EventListener
from shared.wire import OctoPrintConnection, PrinterConfig, SerialConnection

if TYPE_CHECKING:
    from agent.drivers.octoprint import JobMemory


@dataclass(frozen=True, slots=True)
class DriverServices:
    """What the agent lends a driver besides its config and listener."""

    data_dir: Path
    # A durable per-printer memory of the job the driver started (OctoPrint re-attaches
    # to it after an agent restart).
    job_memory: Callable[[str], JobMemory]


DriverFactory = Callable[[PrinterConfig, EventListener, DriverServices], Driver]


def connection_kind(printer: PrinterConfig) -> str:
    return "serial" if isinstance(printer.connection, SerialConnection) else "octoprint"


def _serial(printer: PrinterConfig, listener: EventListener, services: DriverServices) -> Driver:
    from agent.drivers.serial import SerialDriver

    conn = printer.connection
    if not isinstance(conn, SerialConnection):
        raise TypeError(f"printer {printer.printer_id}: not a serial connection")
    return SerialDriver(conn.port, listener, baud=conn.baud, profile=conn.profile)


def _octoprint(printer: PrinterConfig, listener: EventListener, services: DriverServices) -> Driver:
    from agent.drivers.octoprint import OctoPrintConfig, OctoPrintDriver

    conn = printer.connection
    if not isinstance(conn, OctoPrintConnection):
        raise TypeError(f"printer {printer.printer_id}: not an OctoPrint connection")
    config = OctoPrintConfig(url=conn.url, api_key=conn.api_key)
    return OctoPrintDriver(config, listener, services.job_memory(printer.printer_id))


DRIVERS: Mapping[str, DriverFactory] = {
    "serial": _serial,
    "octoprint": _octoprint,
}
