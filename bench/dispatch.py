"""Benchmark: dispatch latency, from `POST /v1/jobs` returning to the job's first line
executed by a simulated printer (target p50 < 300 ms).

    .venv/bin/python bench/dispatch.py [--jobs 20] [--database-url postgresql://…]

One process runs a broker (Mosquitto, else the embedded one), the cloud (API + bridge) on
SQLite or the given PostgreSQL, one agent and one idle simulated Marlin printer. Each job
is a short file with no heating, so the first line reaches the printer as soon as the
system has passed it along: queue → start command over MQTT → agent → download → serial.
The next job is sent once the previous one is complete and the printer idle again.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from tests.integration.farm import PrinterSpec, running_farm
from tests.support.broker import make_broker


def gcode(n: int) -> bytes:
    lines = [
        "G90",
        "M83",
        f"M117 bench-{n}",
        *(f"G1 X{i} Y{n % 50} E0.05 F3000" for i in range(20)),
    ]
    return ("\n".join(lines) + "\n").encode()


async def measure(workdir: Path, jobs: int, database_url: str) -> list[float]:
    broker = make_broker(workdir / "broker-data")
    broker.start()
    latencies: list[float] = []
    try:
        async with running_farm(
            broker,
            workdir,
            [PrinterSpec("bench", "marlin")],
            database_url=database_url,
            sim_baud=None,
        ) as farm:
            printer_id = farm.printers["bench"]
            sim = farm.sims[printer_id]

            async def idle() -> bool:
                printer = await farm.json("GET", f"/v1/printers/{printer_id}")
                return bool(printer["status"] == "idle" and printer["current_job"] is None)

            await farm.wait_for(idle, timeout_s=60, what="printer idle")
            for n in range(jobs):
                before = len(sim.executed)
                job = await farm.json("POST", "/v1/jobs", files={"file": (f"b{n}.gcode", gcode(n))})
                posted = time.perf_counter()
                await sim.wait_executed(before + 1, timeout_s=30)
                latencies.append(time.perf_counter() - posted)

                async def done(job_id: str = job["id"]) -> bool:
                    body = await farm.json("GET", f"/v1/jobs/{job_id}")
                    return bool(body["status"] == "completed") and await idle()

                await farm.wait_for(done, timeout_s=60, what="job completed")
    finally:
        broker.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="apf-dispatch-"))
    (workdir / "broker-data").mkdir()
    latencies = asyncio.run(measure(workdir, args.jobs, args.database_url))
    ms = sorted(x * 1000 for x in latencies)
    print(
        f"dispatch latency over {len(ms)} jobs ({'PostgreSQL' if args.database_url else 'SQLite'}):"
        f" p50 {statistics.median(ms):.0f} ms, p90 {ms[int(len(ms) * 0.9) - 1]:.0f} ms,"
        f" min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
