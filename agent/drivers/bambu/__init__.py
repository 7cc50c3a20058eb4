"""Drive Bambu Lab printers in LAN mode: MQTT over TLS for state and commands, FTPS for files."""

from __future__ import annotations

from agent.drivers.bambu.config import BambuConfig
from agent.drivers.bambu.driver import BambuDriver
from agent.drivers.bambu.tracker import BambuJob

__all__ = ["BambuConfig", "BambuDriver", "BambuJob"]
