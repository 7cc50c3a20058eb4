"""Each connection kind reaches its driver through the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.drivers.bambu import BambuDriver
from agent.drivers.base import DriverEvent
from agent.drivers.moonraker import MoonrakerDriver
from agent.drivers.octoprint import OctoPrintDriver
from agent.drivers.prusalink import PrusaLinkDriver
from agent.drivers.registry import (
    DRIVERS,
    PRINTS_WITHOUT_AGENT,
    DriverServices,
    connection_kind,
)
from agent.drivers.serial import SerialDriver
from agent.sync.store import Store
from shared.wire import (
    BambuConnection,
    Connection,
    MoonrakerConnection,
    OctoPrintConnection,
    PrinterConfig,
    PrusaLinkConnection,
    SerialConnection,
)


def ignore(_event: DriverEvent) -> None:
    return None


@pytest.mark.parametrize(
    ("connection", "kind", "driver_type"),
    [
        (SerialConnection(port="/dev/ttyACM0"), "serial", SerialDriver),
        (OctoPrintConnection(url="http://op.local", api_key="k"), "octoprint", OctoPrintDriver),
        (MoonrakerConnection(url="http://voron.local:7125"), "moonraker", MoonrakerDriver),
        (
            PrusaLinkConnection(url="http://mk4.local", username="maker", password="p"),
            "prusalink",
            PrusaLinkDriver,
        ),
        (
            BambuConnection(host="192.168.1.40", serial="01P00A000000001", access_code="1234"),
            "bambu",
            BambuDriver,
        ),
    ],
)
async def test_each_kind_reaches_its_driver(
    tmp_path: Path, connection: Connection, kind: str, driver_type: type
) -> None:
    printer = PrinterConfig(printer_id="prt_1", name="p", connection=connection)
    async with Store(tmp_path / "agent.db") as store:
        services = DriverServices(data_dir=tmp_path, store=store)
        assert connection_kind(printer) == kind
        driver = DRIVERS[kind](printer, ignore, services)
    assert isinstance(driver, driver_type)
    # Serial prints stop with their host; the others print on without the agent.
    assert (kind in PRINTS_WITHOUT_AGENT) is (kind != "serial")
