"""`apf sim`: run a simulated printer on a pseudo-terminal until stopped.

The pty path is printed alone on the first line of standard output (flushed), so a script
or a benchmark in another process can read it and open the port.

`apf sim --bambu` runs a Bambu Lab printer on loopback instead (TLS MQTT and implicit
FTPS, agent/sim/bambu); its first line is one JSON object with the host, ports, serial,
access code and certificate fingerprint. SIGUSR1 reboots it (connections dropped, the
print lost), as a power cycle would.
"""

from __future__ import annotations

import argparse
from typing import Any

from apf.help import add_command
from shared import event_loop


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "sim",
        summary="run a simulated printer on a pseudo-terminal",
        description="Run a virtual printer on a pty; prints the pty path, then runs until "
        "SIGINT/SIGTERM. With --bambu, a Bambu Lab printer on loopback instead.",
        examples=[
            "apf sim --dialect prusa      # prints /dev/pts/N: apf print FILE --port /dev/pts/N",
            "apf sim --bambu",
        ],
    )
    parser.add_argument(
        "--dialect",
        default="marlin",
        choices=["marlin", "prusa", "klipper", "reprapfirmware"],
        help="firmware to imitate (default: marlin)",
    )
    parser.add_argument("--baud", type=int, default=115200, help="simulated UART rate")
    parser.add_argument("--unthrottled", action="store_true", help="no wire limit")
    parser.add_argument("--latency-ms", type=float, default=1.0, help="one-way delay in ms")
    parser.add_argument("--rx-buffer", type=int, help="receive ring in bytes (dialect default)")
    parser.add_argument("--queue", type=int, help="command queue depth (dialect default)")
    parser.add_argument("--processing-ms", type=float, help="time per command in ms")
    parser.add_argument("--advanced-ok", action="store_true", help="Marlin ADVANCED_OK")
    parser.add_argument("--heat-rate", type=float, default=20.0, help="°C per second")
    parser.add_argument("--move-ms", type=float, default=0.0, help="planner time per move")
    parser.add_argument("--boot-ms", type=float, default=0.0, help="deaf time after a reset")
    parser.add_argument("--idle-wait-ms", type=float, help="Marlin `wait` when idle this long")
    parser.add_argument(
        "--wake-ms", type=float, default=1.0, help="least time between wake-ups (CPU vs jitter)"
    )
    parser.add_argument("--record", metavar="FILE", help="append each executed command")
    parser.add_argument(
        "--count",
        type=int,
        default=1,
        help="run N printers in this one process, one pty path per line (cheaper than N "
        "processes); printer i records to FILE.i and uses seed+i",
    )
    bambu = parser.add_argument_group("Bambu Lab printer (with --bambu)")
    bambu.add_argument(
        "--bambu", action="store_true", help="simulate a Bambu Lab printer in LAN mode"
    )
    bambu.add_argument("--host", default="127.0.0.1", help="address to listen on")
    bambu.add_argument("--mqtt-port", type=int, default=8883, help="TLS MQTT port (8883)")
    bambu.add_argument("--ftps-port", type=int, default=990, help="implicit FTPS port (990)")
    bambu.add_argument("--serial", default="01P00A000000001", help="serial number")
    bambu.add_argument("--access-code", default="12345678", help="LAN access code")
    bambu.add_argument("--model", default="P1S", help="model name get_version reports")
    bambu.add_argument(
        "--full-reports", action="store_true", help="X1 style: full reports, not deltas"
    )
    bambu.add_argument(
        "--no-developer-mode",
        action="store_true",
        help="drop control commands unanswered, as firmware without Developer Mode does",
    )
    bambu.add_argument(
        "--speed", type=float, default=60.0, help="print this many times faster than estimated"
    )
    bambu.add_argument("--prepare-s", type=float, default=2.0, help="heat-up before printing")
    bambu.add_argument("--report-s", type=float, default=1.0, help="seconds between reports")
    bambu.add_argument("--card-mb", type=float, help="size of the simulated card")
    bambu.add_argument("--card", metavar="DIR", help="keep the card's files in DIR")
    bambu.add_argument("--fail-at", type=float, help="fail the print at this percent")
    bambu.add_argument("--hms-at", type=float, help="raise an HMS fault and pause at this percent")
    faults = parser.add_argument_group("fault injection (seeded)")
    faults.add_argument("--seed", type=int, default=0)
    faults.add_argument("--corrupt-rx", type=float, default=0.0, help="share of lines")
    faults.add_argument("--corrupt-tx", type=float, default=0.0, help="share of lines")
    faults.add_argument("--drop-ok", type=float, default=0.0, help="share of oks")
    faults.add_argument("--busy-every", type=int, help="every Nth command is busy")
    faults.add_argument("--busy-s", type=float, default=2.5, help="length of a busy period")
    faults.add_argument("--reset-after", type=int, help="firmware reset after N commands")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import sys

    from agent.sim import SimConfig, SimConfigError

    if args.bambu:
        return _run_bambu(args)
    if args.count < 1:
        print("apf sim: --count must be at least 1", file=sys.stderr)
        return 2
    try:
        config = SimConfig(
            dialect=args.dialect,
            baud=None if args.unthrottled else args.baud,
            latency_s=args.latency_ms / 1000.0,
            rx_buffer_bytes=args.rx_buffer,
            command_queue=args.queue,
            processing_s_per_command=None
            if args.processing_ms is None
            else args.processing_ms / 1000.0,
            advanced_ok=True if args.advanced_ok else None,
            heat_rate_c_per_s=args.heat_rate,
            move_s_per_block=args.move_ms / 1000.0,
            boot_s=args.boot_ms / 1000.0,
            idle_wait_s=None if args.idle_wait_ms is None else args.idle_wait_ms / 1000.0,
            corrupt_rx_share=args.corrupt_rx,
            corrupt_tx_share=args.corrupt_tx,
            drop_ok_share=args.drop_ok,
            busy_every_n=args.busy_every,
            busy_s=args.busy_s,
            reset_after_lines=args.reset_after,
            seed=args.seed,
            executed_limit=100_000,
            wake_granularity_s=args.wake_ms / 1000.0,
        ).resolved()
    except SimConfigError as exc:
        print(f"apf sim: {exc}", file=sys.stderr)
        return 2
    event_loop.run(_serve(config, args.record, args.count))
    return 0


async def _serve(config: Any, record: str | None, count: int) -> None:
    import asyncio
    import contextlib
    import dataclasses
    import signal
    import sys

    from agent.sim import SimulatedPrinter

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        sims = []
        for index in range(count):
            own = dataclasses.replace(config, seed=config.seed + index) if count > 1 else config
            path = record if record is None or count == 1 else f"{record}.{index}"
            sims.append(await stack.enter_async_context(SimulatedPrinter(own, record_path=path)))
        print("\n".join(sim.pty_path for sim in sims), flush=True)
        await stop.wait()
        for sim in sims:
            counters = sim.counters
            print(
                f"{sim.pty_path}: executed {counters.executed} commands, "
                f"{counters.resends_requested} resends requested, "
                f"{sim.firmware.rx.dropped_bytes} bytes lost to overrun",
                file=sys.stderr,
            )


def _run_bambu(args: argparse.Namespace) -> int:
    import sys

    from agent.sim.bambu.model import Faults
    from agent.sim.bambu.printer import SimulatorSettings

    if args.speed <= 0 or args.report_s <= 0 or args.prepare_s < 0:
        print("apf sim: --speed and --report-s must be positive", file=sys.stderr)
        return 2
    settings = SimulatorSettings(
        serial=args.serial,
        access_code=args.access_code,
        host=args.host,
        mqtt_port=args.mqtt_port,
        ftps_port=args.ftps_port,
        model_name=args.model,
        full_reports=args.full_reports,
        developer_mode=not args.no_developer_mode,
        report_interval_s=args.report_s,
        speed=args.speed,
        prepare_s=args.prepare_s,
        card_bytes=None if args.card_mb is None else int(args.card_mb * 2**20),
        faults=Faults(fail_at_pct=args.fail_at, hms_at_pct=args.hms_at),
    )
    try:
        event_loop.run(_serve_bambu(settings, args.card))
    except OSError as exc:
        print(f"apf sim: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve_bambu(settings: Any, card: str | None) -> None:
    import asyncio
    import json
    import signal
    from pathlib import Path

    from agent.sim.bambu.printer import running_simulator

    stop = asyncio.Event()
    reboot = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, reboot.set)
    async with running_simulator(settings, Path(card) if card else None) as sim:
        print(json.dumps(sim.describe()), flush=True)
        while not stop.is_set():
            waiters = {asyncio.create_task(stop.wait()), asyncio.create_task(reboot.wait())}
            _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            if reboot.is_set() and not stop.is_set():
                reboot.clear()
                await sim.reboot()
