"""Drive Klipper printers through Moonraker's HTTP API and websocket."""

from __future__ import annotations

from agent.drivers.moonraker.config import MoonrakerConfig
from agent.drivers.moonraker.driver import MoonrakerDriver
from agent.drivers.moonraker.tracker import MoonrakerJob

__all__ = ["MoonrakerConfig", "MoonrakerDriver", "MoonrakerJob"]
