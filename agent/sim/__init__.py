"""A virtual 3D printer on a pseudo-terminal: Marlin, Prusa, Klipper and RepRapFirmware
dialects, a lossy receive buffer, a throttled link and injectable faults.

    async with SimulatedPrinter(SimConfig(dialect="marlin", baud=250000)) as sim:
        serial.Serial(sim.pty_path)  # any serial client
        await sim.wait_executed(100, timeout_s=5)

See docs/simulator.md.
"""

from __future__ import annotations

from agent.sim.config import DIALECTS, Dialect, SimConfig, SimConfigError
from agent.sim.printer import SimulatedPrinter, SimulatorClosed

__all__ = [
    "DIALECTS",
    "Dialect",
    "SimConfig",
    "SimConfigError",
    "SimulatedPrinter",
    "SimulatorClosed",
]
