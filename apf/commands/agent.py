"""`apf agent run --config agent.toml` and `apf agent scan`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from apf.help import add_command
from shared import event_loop


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "agent",
        summary="the edge agent next to the printers",
        examples=["apf agent scan", "apf agent run --config agent.toml"],
    )
    sub = parser.add_subparsers(dest="agent_command", metavar="COMMAND", required=True)
    run = add_command(
        sub,
        "run",
        summary="run the agent (drives printers, syncs over MQTT)",
        description="Drive the printers agent.toml lists and keep the cloud in step over "
        "MQTT until SIGINT/SIGTERM (docs/agent.md). Exit status 2 for a bad config file, 1 "
        "when the agent cannot start.",
        examples=["apf agent run --config /etc/apf/agent.toml"],
    )
    run.add_argument("--config", required=True, help="path of the agent's TOML config file")
    run.set_defaults(handler=_run)
    scan = add_command(
        sub,
        "scan",
        summary="find printers: USB serial ports (M115 at common bauds) and Moonraker on this "
        "machine (port 7125)",
        description="Probe every USB serial port (and the ports you name) with M115 at common "
        "baud rates, look for Moonraker, and print what answered with an agent.toml snippet "
        "to paste. Exit status 1 when nothing was found.",
        examples=[
            "apf agent scan",
            "apf agent scan --port /dev/ttyAMA0 --baud 250000 --json",
        ],
    )
    scan.add_argument(
        "--port",
        action="append",
        default=[],
        help="also probe this port (repeatable), e.g. a pty or /dev/ttyAMA0",
    )
    scan.add_argument(
        "--baud",
        action="append",
        type=int,
        default=[],
        help="baud rates to try, in order (default: 115200 250000 57600)",
    )
    scan.add_argument(
        "--timeout-s", type=float, default=4.0, help="how long to wait for an answer per try"
    )
    scan.add_argument(
        "--moonraker",
        action="append",
        default=[],
        metavar="URL",
        help="also look for Moonraker at this URL (repeatable); http://127.0.0.1:7125 always",
    )
    scan.add_argument("--json", action="store_true", help="print the result as JSON")
    scan.set_defaults(handler=_scan)


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal
    from pathlib import Path

    from agent.config import ConfigError, load_config
    from agent.runtime.agent import Agent, StartupError

    try:
        config = load_config(Path(args.config))
    except ConfigError as exc:
        print(f"apf agent: {exc}", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(config.log_level)
    # aiomqtt/paho are chatty at DEBUG about every packet; keep them at INFO at most.
    logging.getLogger("aiomqtt").setLevel(max(logging.INFO, logging.getLogger().level))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Agent(config).run(stop)

    try:
        event_loop.run(main())
    except StartupError as exc:
        print(f"apf agent: {exc}", file=sys.stderr)
        return 1
    return 0


def _scan(args: argparse.Namespace) -> int:
    import json

    from agent.runtime.scan import DEFAULT_BAUDS, config_snippet, scan_ports
    from agent.runtime.scan_moonraker import find_moonrakers, moonraker_snippet
    from apf.commands.scan_view import moonraker_table, serial_table
    from apf.console import show

    bauds = args.baud or list(DEFAULT_BAUDS)
    results = scan_ports(extra_ports=args.port, bauds=bauds, timeout_s=args.timeout_s)
    moonrakers = find_moonrakers(args.moonraker, timeout_s=min(args.timeout_s, 3.0))
    if args.json:
        found = [{"kind": "serial", **r.as_dict()} for r in results]
        print(json.dumps(found + [m.as_dict() for m in moonrakers], indent=2))
        return 0
    if not results and not moonrakers:
        print("No serial ports found and no Moonraker answers. Is the printer plugged in?")
        return 1
    if results:
        show(serial_table(results), sys.stdout)
    if moonrakers:
        show(moonraker_table(moonrakers), sys.stdout)
    serial_count = sum(1 for r in results if r.baud is not None)
    snippet = "\n".join(
        s for s in (config_snippet(results), moonraker_snippet(moonrakers, serial_count + 1)) if s
    )
    if snippet:
        print("\n# Paste into agent.toml (set printer_id/name from the cloud's printer list):")
        print(snippet)
    return 0
