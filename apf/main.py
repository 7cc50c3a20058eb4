"""`apf`: parse the command line and hand over to the chosen subcommand."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from shared.event_loop import EventLoopChoiceError
from shared.version import __version__


def build_parser() -> argparse.ArgumentParser:
    # Imported here so each command module can be read on its own; the list is explicit.
    from apf.commands import agent, broker, cloud, demo, gcode, print_, serial, sim

    parser = argparse.ArgumentParser(
        prog="apf", description="AutoPrintFarm: 3D-printer farm agent, cloud and tools."
    )
    parser.add_argument("--version", action="version", version=f"apf {__version__}")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging threshold (default: WARNING)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (gcode, cloud, broker, agent, sim, print_, serial, demo):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        result: int = handler(args)
    except KeyboardInterrupt:
        return 130
    except EventLoopChoiceError as exc:
        print(f"apf {args.command}: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
