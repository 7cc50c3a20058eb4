"""Klipper printers through Moonraker: latency from a Klipper state change to our MQTT
`state` message, and the agent's CPU with several Moonraker printers subscribed.

    .venv/bin/python bench/moonraker.py [--printers 8] [--changes 40] [--cpu-s 60]

Runs against the real peers of ../shared/peers/klipper (like tests/peers), inside a network
namespace with loopback alone: the script re-executes itself under `unshare` when needed
(root). One real stack (Linux MCU + klippy + Moonraker) plus `--printers - 1` more Moonraker
instances in front of the same klippy, so every printer reports Klipper's real updates at
Moonraker's default rate. One `apf agent run` process drives all of them; a broker of its
own and an MQTT subscriber stand in for the cloud.

- Latency: a print is started, then cancelled, `--changes` times in all, through the first
  Moonraker's REST API (`/printer/print/start` and `…/cancel` answer once Klipper has run
  the command, so its state has changed by then). Measured from that answer to the
  arrival of the first printer's next `state` message that differs from its last one
  (start: busy with a print AutoPrintFarm did not start; cancel: busy while Klipper drains
  its queued moves, then idle), p50 and p95 for each. The clock starts late by the REST
  round trip and the network is loopback, so this is the agent's share plus Klipper's and
  Moonraker's push interval (Klippy sends subscription updates every 250 ms).
- CPU: the agent process's user+system time over `--cpu-s` seconds, from /proc/PID/stat,
  and its resident memory: idle; while Klipper prints (a print the agent did not start,
  seen by all printers: updates at Moonraker's default rate on every one); and the same
  with a sensor whose value changes at every read (a stand-in for a real hotend), so that
  each update carries a temperature and the agent publishes telemetry for every printer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiomqtt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shared.broker_url import parse_broker_url  # noqa: E402
from shared.wire import agent_root, decode_printer_state  # noqa: E402
from tests.support.broker import make_broker  # noqa: E402
from tests.support.klipper_stack import (  # noqa: E402
    KlipperStack,
    isolated,
    moves_gcode,
    prepare,
    unavailable_reason,
)
from tests.support.ports import free_port  # noqa: E402

ORG, AGENT = "org_bench", "agt_bench"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class StateWatch:
    """Arrival times of each printer's `state` messages, with their status and message."""

    def __init__(self, broker_url: str) -> None:
        self.url = broker_url
        self.seen: list[tuple[float, str, str, str]] = []  # (monotonic, printer, status, msg)
        self.changed = asyncio.Event()

    async def run(self) -> None:
        address = parse_broker_url(self.url)
        async with aiomqtt.Client(
            address.host, address.port, username=address.username, password=address.password
        ) as client:
            await client.subscribe(f"{agent_root(ORG, AGENT)}/printers/+/state", qos=1)
            async for message in client.messages:
                state = decode_printer_state(bytes(message.payload))
                what = (state.printer_id, state.status.value, state.message or "")
                self.seen.append((time.monotonic(), *what))
                self.changed.set()

    async def _first(self, found: Callable[[], float | None], timeout_s: float) -> float:
        async with asyncio.timeout(timeout_s):
            while (t := found()) is None:
                self.changed.clear()
                await self.changed.wait()
            return t

    async def status_after(self, t0: float, printer: str, status: str, timeout_s: float) -> float:
        """When the printer's first state with this status after t0 arrived."""

        def found() -> float | None:
            for t, pid, s, _ in self.seen:
                if t >= t0 and pid == printer and s == status:
                    return t
            return None

        return await self._first(found, timeout_s)

    async def change_after(self, t0: float, printer: str, timeout_s: float) -> float:
        """When the printer's first state unlike its last one before t0 arrived."""
        before = [(s, m) for t, pid, s, m in self.seen if t < t0 and pid == printer][-1:]

        def found() -> float | None:
            for t, pid, s, m in self.seen:
                if t >= t0 and pid == printer and [(s, m)] != before:
                    return t
            return None

        return await self._first(found, timeout_s)


async def wobble_temperature(stack: KlipperStack) -> None:
    for n in itertools.count():
        stack.set_host_temperature(200.0 + (n % 20) / 10)
        await asyncio.sleep(0.1)  # faster than Klipper reads the sensor: a new value each read


def agent_toml(broker_url: str, data_dir: Path, stacks: list[KlipperStack]) -> str:
    text = (
        f'agent_id = "{AGENT}"\norg_id = "{ORG}"\ndata_dir = "{data_dir}"\n'
        'log_level = "WARNING"\n\n'
        f'[mqtt]\nurl = "{broker_url}"\n'
    )
    for i, stack in enumerate(stacks):
        text += (
            f'\n[[printers]]\nprinter_id = "prt_{i}"\nname = "Klipper {i}"\n'
            f'connection = {{ kind = "moonraker", url = "{stack.url}", '
            f'api_key = "{stack.api_key}" }}\n'
        )
    return text


async def measure_latency(watch: StateWatch, first: KlipperStack, args: argparse.Namespace) -> None:
    latencies: dict[str, list[float]] = {"start": [], "cancel": []}
    for n in range(args.changes):
        change = "start" if n % 2 == 0 else "cancel"
        params = {"filename": "bench.gcode"} if change == "start" else None
        first.post(f"/printer/print/{change}", params=params).raise_for_status()
        t0 = time.monotonic()
        arrived = await watch.change_after(t0, "prt_0", 30)
        latencies[change].append((arrived - t0) * 1000)
        # Every printer settled (a cancel drains Klipper's queued moves first, a couple
        # of seconds of "running G-code") before the next change.
        for i in range(args.printers):
            await watch.status_after(t0, f"prt_{i}", "busy" if change == "start" else "idle", 30)
    for change, values in latencies.items():
        if not values:
            continue
        values.sort()
        p95 = values[max(0, round(0.95 * len(values)) - 1)]
        print(
            f"state latency after a print {change} over {len(values)} changes: "
            f"p50 {statistics.median(values):.0f} ms, p95 {p95:.0f} ms, max {values[-1]:.0f} ms"
        )


async def measure_cpu(
    watch: StateWatch, first: KlipperStack, agent_pid: int, args: argparse.Namespace
) -> None:
    for phase in ("idle", "printing", "printing, temperature moving"):
        if phase == "printing":
            first.post("/printer/print/start", params={"filename": "bench.gcode"})
            await watch.status_after(time.monotonic() - 5, "prt_0", "busy", 30)
        # This printer has no heaters; a sensor that moves on every read stands in for
        # a real hotend's, so every update Klipper pushes carries a temperature.
        wobble = asyncio.create_task(wobble_temperature(first)) if "temperature" in phase else None
        c0, t0 = cpu_seconds(agent_pid), time.monotonic()
        await asyncio.sleep(args.cpu_s)  # the measurement window
        used = cpu_seconds(agent_pid) - c0
        if wobble is not None:
            wobble.cancel()
        wall = time.monotonic() - t0
        print(
            f"agent CPU, {args.printers} printers {phase}: "
            f"{100 * used / wall:.1f} % of one core over {wall:.0f} s; "
            f"RSS {rss_mib(agent_pid):.0f} MiB"
        )


def start_agent(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "apf", "agent", "run", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )


async def measure(args: argparse.Namespace, work: Path) -> None:
    (work / "broker").mkdir()
    broker = make_broker(work / "broker")
    broker.start()
    stacks: list[KlipperStack] = []
    agent: subprocess.Popen[bytes] | None = None
    try:
        first = KlipperStack(work / "k0", free_port())
        first.start()
        stacks.append(first)
        for i in range(1, args.printers):
            extra = KlipperStack(work / f"k{i}", free_port(), klippy_of=first)
            extra.start()
            stacks.append(extra)
        first.upload("bench.gcode", moves_gcode(3600))
        config = work / "agent.toml"
        config.write_text(agent_toml(broker.url, work / "agent-data", stacks))
        watch = StateWatch(broker.url)
        watcher = asyncio.create_task(watch.run())
        agent = start_agent(config, work / "agent.log")
        for i in range(args.printers):
            await watch.status_after(0.0, f"prt_{i}", "idle", 60)
        print(f"{args.printers} Moonraker printers idle on the agent")

        await measure_latency(watch, first, args)
        await measure_cpu(watch, first, agent.pid, args)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(30)
        for stack in reversed(stacks):
            stack.stop()
        broker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--printers", type=int, default=8)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--cpu-s", type=float, default=60.0)
    args = parser.parse_args()
    if not isolated():
        if shutil.which("unshare") is None or os.geteuid() != 0:
            print("bench/moonraker.py needs root and unshare for its namespace", file=sys.stderr)
            return 2
        prepare()  # needs PyPI the first time, which the namespace has not
        command = [sys.executable, *sys.argv]
        inner = 'ip link set lo up && exec "$@"'
        # A /proc of the new pid namespace: the CPU figures read the agent's by its pid.
        namespace = ["unshare", "--net", "--pid", "--mount-proc", "--fork", "--kill-child"]
        return subprocess.call([*namespace, "bash", "-c", inner, "bench", *command])
    reason = unavailable_reason()
    if reason is not None:
        print(reason, file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="kb", dir="/tmp"))
    try:
        asyncio.run(measure(args, work))
    finally:
        if os.environ.get("BENCH_KEEP") is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
