"""`apf gcode analyze FILE`: validate a G-code file and print what it found."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("gcode", help="G-code tools")
    sub = parser.add_subparsers(dest="gcode_command", metavar="COMMAND", required=True)
    analyze = sub.add_parser("analyze", help="validate a G-code file and print its metadata")
    analyze.add_argument("file", help="path of the G-code file")
    analyze.add_argument("--json", action="store_true", help="print the result as JSON")
    analyze.set_defaults(handler=_analyze)


def _analyze(args: argparse.Namespace) -> int:
    raise SystemExit("apf gcode analyze: not built yet")
