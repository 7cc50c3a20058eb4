"""Drive Prusa printers through PrusaLink's HTTP API (v1)."""

from __future__ import annotations

from agent.drivers.prusalink.config import PrusaLinkConfig
from agent.drivers.prusalink.driver import PrusaLinkDriver
from agent.drivers.prusalink.tracker import PrusaLinkJob

__all__ = ["PrusaLinkConfig", "PrusaLinkDriver", "PrusaLinkJob"]
