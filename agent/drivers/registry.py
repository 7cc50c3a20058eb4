"""The explicit mapping from a printer's connection kind to the factory of its driver.

No lookup by string at import time, no plugin discovery: a new driver kind is one entry
here. Each factory imports its driver lazily, so an agent that drives only serial printers
never imports the OctoPrint or Moonraker clients (and the other way round).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from agent.drivers.base import Driver, EventListener
from agent.drivers.memory import MetaStore
from shared.wire import (
    BambuConnection,
    MoonrakerConnection,
    OctoPrintConnection,
    PrinterConfig,
    PrusaLinkConnection,
    SerialConnection,
)


@dataclass(frozen=True, slots=True)
class DriverServices:
    """What the agent lends a driver besides its config and listener."""

    data_dir: Path
    # Where a driver keeps the durable record of the job it started (OctoPrint and
    # Moonraker re-attach to it after an agent restart).
    store: MetaStore


DriverFactory = Callable[[PrinterConfig, EventListener, DriverServices], Driver]

# Kinds whose printer goes on printing without the agent (the print runs on OctoPrint's,
# Klipper's or PrusaLink's host, or on the Bambu printer itself): an agent restart
# re-attaches to their jobs instead of failing them.
PRINTS_WITHOUT_AGENT = frozenset({"octoprint", "moonraker", "prusalink", "bambu"})


def connection_kind(printer: PrinterConfig) -> str:
    match printer.connection:
        case SerialConnection():
            return "serial"
        case OctoPrintConnection():
            return "octoprint"
        case MoonrakerConnection():
            return "moonraker"
        case PrusaLinkConnection():
            return "prusalink"
        case BambuConnection():
            return "bambu"


def _serial(printer: PrinterConfig, listener: EventListener, services: DriverServices) -> Driver:
    from agent.drivers.serial import SerialDriver

    conn = printer.connection
    if not isinstance(conn, SerialConnection):
        raise TypeError(f"printer {printer.printer_id}: not a serial connection")
    return SerialDriver(conn.port, listener, baud=conn.baud, profile=conn.profile)


def _octoprint(printer: PrinterConfig, listener: EventListener, services: DriverServices) -> Driver:
    from agent.drivers.memory import StoredJobMemory
    from agent.drivers.octoprint import JobRecord, OctoPrintConfig, OctoPrintDriver

    conn = printer.connection
    if not isinstance(conn, OctoPrintConnection):
        raise TypeError(f"printer {printer.printer_id}: not an OctoPrint connection")
    config = OctoPrintConfig(url=conn.url, api_key=conn.api_key)
    memory = StoredJobMemory(services.store, f"octoprint_job:{printer.printer_id}", JobRecord)
    return OctoPrintDriver(config, listener, memory)


def _moonraker(printer: PrinterConfig, listener: EventListener, services: DriverServices) -> Driver:
    from agent.drivers.memory import StoredJobMemory
    from agent.drivers.moonraker import MoonrakerConfig, MoonrakerDriver, MoonrakerJob

    conn = printer.connection
    if not isinstance(conn, MoonrakerConnection):
        raise TypeError(f"printer {printer.printer_id}: not a Moonraker connection")
    config = MoonrakerConfig(url=conn.url, api_key=conn.api_key)
    memory = StoredJobMemory(services.store, f"moonraker_job:{printer.printer_id}", MoonrakerJob)
    return MoonrakerDriver(config, listener, memory)


def _prusalink(printer: PrinterConfig, listener: EventListener, services: DriverServices) -> Driver:
    from agent.drivers.memory import StoredJobMemory
    from agent.drivers.prusalink import PrusaLinkConfig, PrusaLinkDriver, PrusaLinkJob

    conn = printer.connection
    if not isinstance(conn, PrusaLinkConnection):
        raise TypeError(f"printer {printer.printer_id}: not a PrusaLink connection")
    config = PrusaLinkConfig(
        url=conn.url, username=conn.username, password=conn.password, api_key=conn.api_key
    )
    memory = StoredJobMemory(services.store, f"prusalink_job:{printer.printer_id}", PrusaLinkJob)
    return PrusaLinkDriver(config, listener, memory)


def _bambu(printer: PrinterConfig, listener: EventListener, services: DriverServices) -> Driver:
    from agent.drivers.bambu import BambuConfig, BambuDriver, BambuJob
    from agent.drivers.memory import StoredJobMemory

    conn = printer.connection
    if not isinstance(conn, BambuConnection):
        raise TypeError(f"printer {printer.printer_id}: not a Bambu connection")
    config = BambuConfig(
        host=conn.host,
        serial=conn.serial,
        access_code=conn.access_code,
        mqtt_port=conn.mqtt_port,
        ftps_port=conn.ftps_port,
        fingerprint=conn.fingerprint,
    )
    memory = StoredJobMemory(services.store, f"bambu_job:{printer.printer_id}", BambuJob)
    pin = StoredJobMemory(services.store, f"bambu_certificate:{printer.printer_id}", str)
    return BambuDriver(config, listener, memory, pin)


DRIVERS: Mapping[str, DriverFactory] = {
    "serial": _serial,
    "octoprint": _octoprint,
    "moonraker": _moonraker,
    "prusalink": _prusalink,
    "bambu": _bambu,
}
