"""Bambu Lab printers over LAN: the driver's CPU and memory with many printers printing,
and the time from a start request to the printer's acknowledgement and first report.

    .venv/bin/python bench/bambu.py [--printers 20] [--cpu-s 30] [--report-s 1.0]

`--printers` simulated Bambu printers (`agent/sim/bambu`, P1-style: a delta report every
`--report-s`, as P1/A1 printers send about every second or two) run in a child process on
loopback, on free ports; this process runs one `BambuDriver` per printer, as one agent on
a Pi would, and starts a long print on each, so every report carries progress and rising
temperatures. Measured in this process only (the simulators' own CPU is not counted):

- start: from `start_job` being called to its return (FTPS upload of a small file, then
  `gcode_file` acknowledged by sequence id), p50 and p95 over the printers;
- CPU: user+system time of this process over `--cpu-s` seconds while every printer
  prints, as a share of one core, with the number of reports handled per second;
- RSS of this process at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


async def serve(count: int, report_s: float) -> None:
    """The child: `count` simulated printers; one JSON line describing each, then wait."""
    from agent.sim.bambu.printer import SimulatorSettings, running_simulator

    async with contextlib.AsyncExitStack() as stack:
        described = []
        for index in range(count):
            settings = SimulatorSettings(
                serial=f"01P00A{index:09d}",
                mqtt_port=0,
                ftps_port=0,
                report_interval_s=report_s,
                speed=1.0,
                prepare_s=1.0,
            )
            sim = await stack.enter_async_context(running_simulator(settings))
            described.append(sim.describe())
        print(json.dumps(described), flush=True)
        await asyncio.Event().wait()


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(printers: list[dict[str, Any]], cpu_s: float) -> dict[str, Any]:
    from agent.drivers.bambu import BambuConfig, BambuDriver
    from agent.drivers.base import DriverEvent
    from shared.enums import PrinterStatus
    from tests.support.bambu import gcode_lasting

    events = 0

    def count(_event: DriverEvent) -> None:
        nonlocal events
        events += 1

    drivers = [
        BambuDriver(
            BambuConfig(
                host=p["host"],
                serial=p["serial"],
                access_code=p["access_code"],
                mqtt_port=p["mqtt_port"],
                ftps_port=p["ftps_port"],
                fingerprint=p["fingerprint"],
            ),
            count,
        )
        for p in printers
    ]
    runs = [asyncio.create_task(d.run()) for d in drivers]
    deadline = time.monotonic() + 60
    while any(d.snapshot.status is not PrinterStatus.IDLE for d in drivers):
        if time.monotonic() > deadline:
            raise SystemExit("printers did not come up within 60 s")
        await asyncio.sleep(0.1)  # waiting for many drivers with a deadline
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.gcode"
        path.write_text(gcode_lasting(600))  # ten hours: prints through the measurement
        starts = []
        for index, driver in enumerate(drivers):
            began = time.perf_counter()
            await driver.start_job(f"job_{index}", path)
            starts.append((time.perf_counter() - began) * 1000)
    await asyncio.sleep(3)  # let every printer leave PREPARE before measuring
    before_events, before_cpu, before_wall = events, time.process_time(), time.monotonic()
    await asyncio.sleep(cpu_s)
    cpu = time.process_time() - before_cpu
    wall = time.monotonic() - before_wall
    handled = events - before_events
    for task in runs:
        task.cancel()
    await asyncio.gather(*runs, return_exceptions=True)
    starts.sort()
    return {
        "printers": len(drivers),
        "start_ms_p50": round(statistics.median(starts), 1),
        "start_ms_p95": round(starts[int(0.95 * (len(starts) - 1))], 1),
        "cpu_share_of_one_core": round(cpu / wall, 4),
        "driver_updates_per_s": round(handled / wall, 1),
        "rss_mib": round(rss_mib(), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--printers", type=int, default=20)
    parser.add_argument("--cpu-s", type=float, default=30.0)
    parser.add_argument("--report-s", type=float, default=1.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.printers, args.report_s))
        return 0
    child = subprocess.Popen(
        [
            *(sys.executable, __file__, "--serve", "--printers", str(args.printers)),
            *("--report-s", str(args.report_s)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        printers = json.loads(child.stdout.readline())
        result = asyncio.run(measure(printers, args.cpu_s))
    finally:
        child.terminate()
        child.wait(10)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
