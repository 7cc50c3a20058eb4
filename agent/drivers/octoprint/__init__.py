"""Drive printers that OctoPrint runs, through its REST API and push socket."""

from __future__ import annotations

from agent.drivers.octoprint.config import OctoPrintConfig
from agent.drivers.octoprint.driver import OctoPrintDriver
from agent.drivers.octoprint.jobs import JobRecord

__all__ = ["JobRecord", "OctoPrintConfig", "OctoPrintDriver"]
