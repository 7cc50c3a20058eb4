"""`apf sim`: run a simulated printer on a pseudo-terminal until stopped.

The pty path is printed alone on the first line of standard output (flushed), so a script
or a benchmark in another process can read it and open the port.
"""

from __future__ import annotations

import argparse
from typing import Any

from shared import event_loop


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sim",
        help="run a simulated printer on a pseudo-terminal",
        description="Run a virtual printer on a pty; prints the pty path, then runs until "
        "SIGINT/SIGTERM.",
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
