"""Serial streaming benchmark: lines/s and host CPU per line against `apf sim` printers.

The simulated printers run in other processes (`python -m apf sim --count N …`, N printers
per process), so the CPU time measured here (time.process_time of this process) is the host
side only: driver, protocol, transport and event loop. The simulators' own CPU over the same
interval is read from /proc and reported beside it, so the machine's total is visible too.

    .venv/bin/python bench/serial_stream.py                 # every scenario
    .venv/bin/python bench/serial_stream.py --lines 1000 --max-printers 8

Scenarios: one line in flight (OctoPrint's ackMax = 1) vs send-ahead, at a simulated 115200
and 250000 baud with 1 ms latency each way and unthrottled; then N printers at 250000 baud
from this one process, doubling N while every printer keeps >= 90 % of its wire limit and
then narrowing the gap between the last count that did and the first that did not
(`--printers 16 24` runs just those counts).
Lines are 28-character moves, about 38 bytes on the wire with "N<n> " and "*<cs>"; each
wire limit printed is computed from the file's measured mean bytes per line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
import tty
from dataclasses import dataclass
from pathlib import Path

from agent.drivers.base import DriverEvent, JobCompleted, JobFailed, StateChanged
from agent.drivers.serial import SerialDriver
from shared.enums import PrinterStatus


def wire_limit_lines_s(baud: int, bytes_per_line: float) -> float:
    # 8N1: 10 bits per byte (field notes §2.1).
    return baud / 10 / bytes_per_line


def mean_wire_bytes(path: Path) -> float:
    """Mean bytes per line as sent: "N<n> <command>*<cs>\n" for n = 1, 2, …"""
    from agent.serial.encoding import clean_line, numbered_line

    commands = [c for c in (clean_line(x) for x in path.read_text().splitlines()) if c]
    sizes = [len(numbered_line(n, c.encode())) for n, c in enumerate(commands, start=1)]
    return sum(sizes) / len(sizes)


def write_file(path: Path, count: int) -> None:
    rng = random.Random(1)
    with path.open("w") as out:
        out.write("; benchmark file\n")
        for _ in range(count):
            x, y, e = rng.uniform(100, 199), rng.uniform(100, 199), rng.uniform(1, 9)
            out.write(f"G1 X{x:07.3f} Y{y:07.3f} E{e:.5f}\n")


@dataclass
class Result:
    lines: int
    wall_s: float
    ok: bool


class SimProcess:
    """`apf sim --count N` in a child process: N printers sharing its wake-ups."""

    def __init__(self, baud: int | None, latency_ms: float, count: int) -> None:
        self.args = ["--dialect", "marlin", "--latency-ms", str(latency_ms), "--count", str(count)]
        self.args += ["--unthrottled"] if baud is None else ["--baud", str(baud)]
        self.count = count
        self.proc: asyncio.subprocess.Process | None = None
        self.pty_paths: list[str] = []

    async def __aenter__(self) -> SimProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "apf",
            "sim",
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        for _ in range(self.count):
            line = await asyncio.wait_for(self.proc.stdout.readline(), 20)
            self.pty_paths.append(line.decode().strip())
        return self

    def cpu_s(self) -> float:
        """User + system CPU the simulator process has used so far (Linux /proc)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 10)


async def stream(
    pty_path: str, gcode: Path, lines: int, window: int | None, start: asyncio.Barrier
) -> Result:
    ready, finished = asyncio.Event(), asyncio.Event()
    outcome: list[DriverEvent] = []

    def listener(event: DriverEvent) -> None:
        if isinstance(event, StateChanged) and event.snapshot.status is PrinterStatus.IDLE:
            ready.set()
        if isinstance(event, JobCompleted | JobFailed):
            outcome.append(event)
            finished.set()

    driver = SerialDriver(pty_path, listener, profile="marlin", max_lines_in_flight=window)
    runner = asyncio.create_task(driver.run(), name="bench-driver")
    try:
        await asyncio.wait_for(ready.wait(), 20)
        await start.wait()  # every printer starts its job at the same moment
        start_s = time.perf_counter()
        await driver.start_job("bench", gcode)
        await asyncio.wait_for(finished.wait(), 600)
        wall_s = time.perf_counter() - start_s
    finally:
        runner.cancel()
        with contextlib.suppress(BaseException):
            await runner
    return Result(lines, wall_s, isinstance(outcome[0], JobCompleted))


@dataclass
class Outcome:
    results: list[Result]
    host_cpu_s: float
    sim_cpu_s: float


async def scenario(
    baud: int | None,
    window: int | None,
    lines: int,
    printers: int,
    folder: Path,
    *,
    sim_processes: int = 1,
) -> Outcome:
    gcode = folder / f"bench-{lines}.gcode"
    if not gcode.exists():
        write_file(gcode, lines)
    processes = max(1, min(sim_processes, printers))
    counts = [printers // processes + (i < printers % processes) for i in range(processes)]
    async with contextlib.AsyncExitStack() as stack:
        sims = [await stack.enter_async_context(SimProcess(baud, 1.0, n)) for n in counts]
        paths = [path for sim in sims for path in sim.pty_paths]
        start = asyncio.Barrier(len(paths) + 1)
        streams = [asyncio.create_task(stream(p, gcode, lines, window, start)) for p in paths]
        await asyncio.wait_for(start.wait(), 60)  # every driver connected and identified
        sim_start_s = sum(sim.cpu_s() for sim in sims)
        cpu_start_s = time.process_time()
        results = await asyncio.gather(*streams)
        cpu_s = time.process_time() - cpu_start_s
        sim_cpu_s = sum(sim.cpu_s() for sim in sims) - sim_start_s
    return Outcome(list(results), cpu_s, sim_cpu_s)


async def minimal_host(baud: int, lines: int) -> str:
    """The floor under the host's CPU per line: the least an asyncio host can do per ok.

    A few lines of Python per wake-up (read, count oks, write the next lines, 4 in flight
    as the Marlin profile's window allows) against the same simulator; whatever the real
    driver costs above this is its own code.
    """
    from agent.serial.encoding import numbered_line

    async with SimProcess(baud, 1.0, 1) as sim:
        fd = os.open(sim.pty_paths[0], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        state = {"sent": 0, "acked": 0}
        tail = [b""]

        def send_more() -> None:
            out = []
            while state["sent"] - state["acked"] < 4 and state["sent"] < lines:
                state["sent"] += 1
                out.append(numbered_line(state["sent"], b"G1 X123.456 Y123.456 E1.23456"))
            if out:
                os.write(fd, b"".join(out))

        def readable() -> None:
            *complete, tail[0] = (tail[0] + os.read(fd, 65536)).split(b"\n")
            state["acked"] += sum(1 for line in complete if line[:2] == b"ok")
            send_more()
            if state["acked"] >= lines and not done.done():
                done.set_result(None)

        os.write(fd, b"N0 M110 N0*125\n")  # numbering from 1; its ok is counted as line 0
        state["acked"] = -1
        loop.add_reader(fd, readable)
        try:
            start_s, cpu_start_s = time.perf_counter(), time.process_time()
            send_more()
            await asyncio.wait_for(done, 600)
            cpu_s, wall_s = time.process_time() - cpu_start_s, time.perf_counter() - start_s
        finally:
            loop.remove_reader(fd)
            os.close(fd)
    return (
        f"{baud:>7} baud | minimal host (floor) | {lines / wall_s:7.0f} lines/s"
        f" | host CPU {1e6 * cpu_s / lines:6.1f} us/line"
    )


def describe(baud: int | None, window: int | None, outcome: Outcome, line_b: float) -> str:
    results, cpu_s = outcome.results, outcome.host_cpu_s
    rates = [r.lines / r.wall_s for r in results]
    total_lines = sum(r.lines for r in results)
    mode = "1 line in flight" if window == 1 else "send-ahead"
    link = "unthrottled" if baud is None else f"{baud} baud"
    text = f"{link:>12} | {mode:16} | {min(rates):7.0f} lines/s"
    if baud is not None:
        text += f" (limit {wire_limit_lines_s(baud, line_b):3.0f} at {line_b:.1f} B/line)"
    if baud is not None:
        text += f" ({100 * min(rates) / wire_limit_lines_s(baud, line_b):5.1f} % of wire)"
    else:
        text += " " * 45
    text += f" | host CPU {1e6 * cpu_s / total_lines:6.1f} us/line"
    text += f" | simulator CPU {1e6 * outcome.sim_cpu_s / total_lines:6.1f} us/line"
    if not all(r.ok for r in results):
        text += " | A JOB FAILED"
    return text


def protocol_only(lines: int) -> str:
    """The pure protocol's own cost per line: encode, send, acknowledge; no I/O, no loop."""
    from agent.serial.events import NEED_DATA
    from agent.serial.profiles import get_profile
    from agent.serial.protocol import HostProtocol

    protocol = HostProtocol(get_profile("marlin"))
    protocol.receive_data(b"ok\n", 0.0)  # nothing sent yet: a stray ok is ignored
    cpu_start_s = time.process_time()
    offset = 0
    while protocol.file_offset_acked < lines:
        while protocol.file_lines_wanted > 0 and offset < lines:
            offset += 1
            protocol.queue_file_line(b"G1 X123.45 Y123.45 E1.2345", offset)
        sent = protocol.data_to_send(0.0).count(b"\n")
        protocol.receive_data(b"ok\n" * sent, 0.0)
        while protocol.next_event() is not NEED_DATA:
            pass
    cpu_s = time.process_time() - cpu_start_s
    return f"protocol only (no I/O)    | {1e6 * cpu_s / lines:6.1f} us/line over {lines} lines"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000, help="lines per printer")
    parser.add_argument("--max-printers", type=int, default=32)
    parser.add_argument(
        "--printers", type=int, nargs="+", help="these printer counts instead of the search"
    )
    parser.add_argument("--skip-single", action="store_true")
    parser.add_argument(
        "--sim-processes", type=int, default=1, help="simulator processes sharing the printers"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(protocol_only(100_000), flush=True)
        if not args.skip_single:
            for rate in (115200, 250000):
                print(await minimal_host(rate, args.lines), flush=True)
            for baud in (115200, 250000, None):
                for window in (1, None):
                    lines = args.lines * (4 if baud is None else 1)
                    outcome = await scenario(baud, window, lines, 1, folder)
                    line_b = mean_wire_bytes(folder / f"bench-{lines}.gcode")
                    print(describe(baud, window, outcome, line_b), flush=True)
        gcode = folder / f"bench-{args.lines}.gcode"
        if not gcode.exists():
            write_file(gcode, args.lines)
        line_b = mean_wire_bytes(gcode)

        async def keeps_up(printers: int) -> bool:
            """Run N printers at 250000 baud; True when every one kept >= 90 % of the wire."""
            outcome = await scenario(
                250000, None, args.lines, printers, folder, sim_processes=args.sim_processes
            )
            rates = [r.lines / r.wall_s for r in outcome.results]
            print(
                f"{printers:3d} printers: "
                + describe(250000, None, outcome, line_b)
                + f" | all together {sum(rates):6.0f} lines/s",
                flush=True,
            )
            worst = min(rates) / wire_limit_lines_s(250000, line_b)
            return worst >= 0.9 and all(r.ok for r in outcome.results)

        best = 0
        if args.printers:
            for printers in args.printers:
                if await keeps_up(printers):
                    best = max(best, printers)
        else:
            # Double until a count falls short, then halve the gap to the last good one.
            failed: int | None = None
            printers = 1
            while printers <= args.max_printers:
                if not await keeps_up(printers):
                    failed = printers
                    break
                best = printers
                printers *= 2
            while failed is not None and failed - best > max(1, best // 8):
                middle = (best + failed) // 2
                if await keeps_up(middle):
                    best = middle
                else:
                    failed = middle
        print(f"largest N with every printer >= 90 % of the 250000-baud wire limit: {best}")


if __name__ == "__main__":
    from shared import event_loop

    # The loop the agent runs on (uvloop where installed; APF_EVENT_LOOP=asyncio to compare).
    print(f"event loop: {event_loop.chosen_loop()}", flush=True)
    event_loop.run(main())
