"""Agent resource benchmark: resident memory and CPU of `apf agent run` with N printers.

Everything is a separate process, as on a Pi: a Mosquitto broker on a free loopback port,
N `apf sim` printers at the given baud, and the agent; this script plays the cloud (serves
the G-code over HTTP, sends `start_job` over MQTT) and samples the agent process with psutil.

    .venv/bin/python bench/agent_resources.py                     # 8 printers, 250000 baud
    .venv/bin/python bench/agent_resources.py --printers 4 --window-s 10

Two windows: all printers connected and idle, then all printing (the file is long enough to
outlast the window; the script checks that every job is still running at its end). CPU is
Δ(user+system time) / Δwall of the agent process, in % of one core; RSS is the largest
sample (every 0.5 s). Target on the issue: <= 80 MB and <= 15 % of one core while 8 print.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import psutil

from shared.wire import (
    JobCompletedEvent,
    JobStartedEvent,
    PrinterOnlineEvent,
    StartJob,
    TopicKind,
    commands_topic,
    decode_event,
    decode_telemetry,
    encode,
    events_topic,
    subscription,
)
from tests.agent.runtime.files_server import FileServer, serving
from tests.support.broker import make_broker

ORG, AGENT = "org_bench", "agt_bench"
REPO = Path(__file__).resolve().parent.parent


def start_sims(count: int, baud: int) -> tuple[list[subprocess.Popen[str]], list[str]]:
    procs, ptys = [], []
    for _ in range(count):
        proc = subprocess.Popen(
            [sys.executable, "-m", "apf", "sim", "--dialect", "marlin", "--baud", str(baud)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=REPO,
        )
        assert proc.stdout is not None
        procs.append(proc)
        ptys.append(proc.stdout.readline().strip())
    return procs, ptys


def write_config(path: Path, broker_url: str, data_dir: Path, ptys: list[str], baud: int) -> None:
    printers = "".join(
        f'\n[[printers]]\nprinter_id = "prt_{i}"\nname = "sim {i}"\n'
        f'connection = {{ kind = "serial", port = "{pty}", baud = {baud}, profile = "marlin" }}\n'
        for i, pty in enumerate(ptys)
    )
    path.write_text(
        f'agent_id = "{AGENT}"\norg_id = "{ORG}"\ndata_dir = "{data_dir}"\n'
        f'log_level = "WARNING"\n\n[mqtt]\nurl = "{broker_url}"\n{printers}'
    )


def gcode(lines: int) -> bytes:
    body = "".join(
        f"G1 X{100 + i % 97:.2f} Y{100 + (i * 7) % 89:.2f} E{i * 0.005:.4f} F3000\n"
        for i in range(lines)
    )
    return ("G90\nM82\n" + body).encode()


async def start_jobs(client: aiomqtt.Client, server: FileServer, data: bytes, count: int) -> None:
    server.files["/job.gcode"] = data
    digest = hashlib.sha256(data).hexdigest()
    for i in range(count):
        issued = datetime.now(UTC)
        command = StartJob(
            command_id=f"start-{i}",
            printer_id=f"prt_{i}",
            issued_at=issued,
            expires_at=issued + timedelta(minutes=10),
            job_id=f"job_{i}",
            file_url=server.url("/job.gcode"),
            sha256=digest,
            size_bytes=len(data),
        )
        await client.publish(commands_topic(ORG, AGENT), encode(command), qos=1)


class Sampler:
    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)

    async def window(self, seconds: float) -> tuple[float, float]:
        """(CPU % of one core, max RSS MB) over `seconds`."""
        start_cpu = sum(self.proc.cpu_times()[:2])
        start = time.monotonic()
        rss = 0
        while time.monotonic() - start < seconds:
            rss = max(rss, self.proc.memory_info().rss)
            await asyncio.sleep(0.5)  # the sampling period
        cpu = sum(self.proc.cpu_times()[:2]) - start_cpu
        return 100.0 * cpu / (time.monotonic() - start), rss / 1e6


async def cloud(
    broker_url: str,
    printers: int,
    *,
    server: FileServer,
    data: bytes,
    sampler: Sampler,
    window_s: float,
    lines: int,
) -> dict[str, tuple[float, float]]:
    host, port = broker_url.removeprefix("mqtt://").split(":")
    online: set[str] = set()
    started: set[str] = set()
    completed: set[str] = set()
    progress: dict[str, float] = {}
    results: dict[str, tuple[float, float]] = {}
    async with aiomqtt.Client(host, int(port), identifier="bench-cloud", timeout=10) as client:
        await client.subscribe(events_topic(ORG, AGENT), qos=1)
        await client.subscribe(subscription(TopicKind.TELEMETRY, org_id=ORG), qos=0)

        async def listen() -> None:
            async for message in client.messages:
                if str(message.topic).endswith("/telemetry"):
                    sample = decode_telemetry(bytes(message.payload))
                    if sample.job is not None:
                        progress[sample.printer_id] = sample.job.progress
                    continue
                event = decode_event(bytes(message.payload))
                if isinstance(event, PrinterOnlineEvent):
                    online.add(event.printer_id)
                elif isinstance(event, JobStartedEvent):
                    started.add(event.printer_id)
                elif isinstance(event, JobCompletedEvent):
                    completed.add(event.printer_id)

        async def until(condition: object, timeout_s: float) -> None:
            deadline = time.monotonic() + timeout_s
            while not condition():  # type: ignore[operator]
                if time.monotonic() > deadline:
                    raise TimeoutError("the agent did not get there in time")
                await asyncio.sleep(0.2)  # polling the bench's own counters

        listener = asyncio.create_task(listen())
        try:
            await until(lambda: len(online) == printers, 60)
            await asyncio.sleep(3)  # let start-up settle before measuring idle
            results["idle"] = await sampler.window(window_s)
            await start_jobs(client, server, data, printers)
            await until(lambda: len(started) == printers, 60)
            await asyncio.sleep(2)  # past the download and start-up burst
            before = sum(progress.values())
            results["printing"] = await sampler.window(window_s)
            done_share = (sum(progress.values()) - before) / 100.0
            results["lines/s"] = (done_share * lines / window_s, 0.0)
            if completed:
                raise RuntimeError(f"{len(completed)} job(s) ended inside the window: use --lines")
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
    return results


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    try:
        yield procs
    finally:
        # The agent first (it says offline and closes its ports), then the printers.
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--printers", type=int, default=8)
    parser.add_argument("--baud", type=int, default=250000)
    parser.add_argument("--window-s", type=float, default=20.0)
    parser.add_argument("--lines", type=int, default=60000, help="G-code lines per job")
    parser.add_argument(
        "--profile", metavar="FILE", help="run the agent under cProfile, stats written to FILE"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name, processes() as procs, serving() as server:
        tmp = Path(tmp_name)
        (tmp / "broker").mkdir()
        broker = make_broker(tmp / "broker")
        broker.start()
        try:
            sims, ptys = start_sims(args.printers, args.baud)
            procs.extend(sims)
            config = tmp / "agent.toml"
            write_config(config, broker.url, tmp / "data", ptys, args.baud)
            profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
            agent = subprocess.Popen(
                [sys.executable, *profile, "-m", "apf", "agent", "run", "--config", str(config)],
                cwd=REPO,
                text=True,
            )
            procs.insert(0, agent)
            data = gcode(args.lines)
            results = asyncio.run(
                cloud(
                    broker.url,
                    args.printers,
                    server=server,
                    data=data,
                    sampler=Sampler(agent.pid),
                    window_s=args.window_s,
                    lines=args.lines,
                )
            )
        finally:
            broker.stop()
    print(f"agent with {args.printers} simulated printers at {args.baud} baud, "
          f"{args.window_s:.0f} s windows (python {sys.version.split()[0]})")
    rate, _ = results.pop("lines/s")
    print(f"{'phase':<10} {'CPU % of one core':>18} {'max RSS MB':>11}")
    for phase, (cpu, rss) in results.items():
        print(f"{phase:<10} {cpu:>18.1f} {rss:>11.1f}")
    cpu_printing = results["printing"][0]
    per_line_us = cpu_printing / 100 / rate * 1e6 if rate else float("nan")
    print(f"while printing: {rate:.0f} G-code lines/s acknowledged in all "
          f"({rate / args.printers:.0f} per printer), {per_line_us:.0f} µs agent CPU per line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
