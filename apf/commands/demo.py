"""`apf demo [--headless]`: run the whole system on its embedded defaults."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from apf.demo.ports import DEFAULT_API_PORT
from apf.help import add_command


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "demo",
        summary="run broker, cloud, agent and three simulated printers in one process",
        description="Starts an embedded MQTT broker, the cloud on SQLite, one agent and three "
        "simulated printers (Marlin, Prusa, Klipper), registers them through the API, queues "
        "sample jobs and shows the farm live. Prints the API URL and key on lines starting "
        "'API URL:' and 'API key:'.",
        examples=[
            "apf demo",
            "apf demo --headless --port 0   # exit 0 once the sample jobs are done",
        ],
    )
    parser.add_argument(
        "--data-dir", default="./demo-data", help="demo data folder, emptied at start"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"API port; without it {DEFAULT_API_PORT}, or a free port when that one is taken "
        "(0: any free port)",
    )
    parser.add_argument("--mqtt-port", type=int, default=0, help="broker port (0: any free)")
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no live view; exit 0 once every sample job has completed, 1 if one failed",
    )
    parser.add_argument(
        "--bambu",
        action="store_true",
        help="add a simulated Bambu Lab printer (LAN mode: TLS MQTT and FTPS on loopback, "
        "an AMS with four trays) beside the serial ones, and a job only its AMS can take",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import sys

    from apf.demo.ports import ApiPortError
    from apf.demo.runner import DemoOptions, run_demo

    if logging.getLogger().level > logging.WARNING or not args.headless:
        logging.getLogger().setLevel(logging.ERROR)  # keep the live view readable
    options = DemoOptions(
        data_dir=Path(args.data_dir),
        api_port=args.port,
        mqtt_port=args.mqtt_port,
        headless=args.headless,
        bambu=args.bambu,
    )
    try:
        return asyncio.run(run_demo(options))
    except ApiPortError as exc:
        print(f"apf demo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nDemo stopped.")
        return 0
