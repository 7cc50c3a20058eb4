"""`apf`: parse the command line and hand over to the chosen subcommand.

An error nobody planned for ends the command with one line saying what failed and what to
try; `apf --debug ...` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from apf.help import help_page
from shared.event_loop import EventLoopChoiceError
from shared.logs import LogFormatError, configure_logging
from shared.version import __version__

EXIT_UNEXPECTED = 1  # what Python's own traceback exit gave before; scripts may rely on it

# The distribution whose install brings a command (and its third-party modules).
# Commands of the cloud's distribution: an agent-only install (a Pi) has no module for them.
_CLOUD_COMMANDS = ("cloud", "broker", "demo")
_DIST_OF = dict.fromkeys(_CLOUD_COMMANDS, "autoprintfarm-cloud")


def build_parser() -> argparse.ArgumentParser:
    # Imported here so each command module can be read on its own; the list is explicit.
    from apf.commands import agent, gcode, print_, serial, sim

    cloud, broker, demo = (_cloud_command(name) for name in _CLOUD_COMMANDS)

    parser = argparse.ArgumentParser(
        prog="apf",
        **help_page(
            "AutoPrintFarm: run a 3D-printer farm's cloud and edge agent, drive printers "
            "directly, and try the whole system with `apf demo`. `apf COMMAND --help` "
            "describes each command.",
            [
                "apf demo                                  # the whole system, live",
                "apf print part.gcode --port /dev/ttyACM0  # one print, with progress",
                "apf agent run --config agent.toml         # the edge agent",
            ],
        ),
    )
    parser.add_argument("--version", action="version", version=f"apf {__version__}")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging threshold (default: WARNING); APF_LOG_FORMAT=json logs JSON lines",
    )
    parser.add_argument(
        "--debug", action="store_true", help="on an unexpected error, show its traceback"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (gcode, cloud, broker, agent, sim, print_, serial, demo):
        if module is None:
            continue
        module.register(subparsers)
    for name in _CLOUD_COMMANDS:
        if name not in subparsers.choices:
            _register_missing(subparsers, name)
    return parser


def _cloud_command(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"apf.commands.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"apf.commands.{name}":
            raise
        return None


def _register_missing(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str
) -> None:
    """`apf cloud …` on an agent-only install: say which install has it, not argparse's
    "invalid choice"."""
    parser = subparsers.add_parser(
        name, help=f"(not installed here: pip install {_DIST_OF[name]})", add_help=False
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=_not_installed(name))


def _not_installed(name: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        print(
            f"apf {name}: this command is part of the cloud's install, not this one (an "
            f"agent install) — pip install {_DIST_OF[name]}",
            file=sys.stderr,
        )
        return 2

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        configure_logging(args.log_level)
    except LogFormatError as exc:
        print(f"apf: {exc}", file=sys.stderr)
        return 2
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
    except Exception as exc:
        if args.debug:
            raise
        print(_one_line(args, exc), file=sys.stderr)
        return EXIT_UNEXPECTED
    return result


def _one_line(args: argparse.Namespace, exc: Exception) -> str:
    """`apf <command>: <what failed> — <what to do>`, on one line."""
    command = " ".join(
        part
        for part in (args.command, getattr(args, f"{args.command}_command", None))
        if isinstance(part, str)
    )
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        dist = _DIST_OF.get(args.command, "autoprintfarm-agent")
        return (
            f"apf {command}: this command needs the Python module '{exc.name}', which is not "
            f"installed — pip install {dist}"
        )
    message = " ".join(str(exc).split()) or type(exc).__name__
    return (
        f"apf {command}: {message} ({type(exc).__name__}) — run again as "
        "`apf --debug ...` to see where it failed"
    )


if __name__ == "__main__":
    sys.exit(main())
