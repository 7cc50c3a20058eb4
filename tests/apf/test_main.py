"""`apf`'s help pages show an example; an unplanned error is one line unless `--debug`."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

from apf.main import _one_line, build_parser


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_help_page_has_an_example() -> None:
    pages = list(_parsers(build_parser()))
    assert len(pages) > 20  # every command and subcommand, not only the top
    for parser in pages:
        assert "Example" in parser.format_help(), parser.prog


def test_the_help_of_a_subcommand_as_a_user_asks_for_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "apf", "print", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "Examples:\n  apf print part.gcode --port /dev/ttyACM0" in done.stdout


# `apf gcode analyze` with its analysis replaced by one that fails as a bug would.
_FAILING = (
    "import sys, shared.gcode\n"
    "def broken(*args, **kwargs):\n"
    "    raise KeyError('layer_height')\n"
    "shared.gcode.analyze_file = broken\n"
    "from apf.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _apf_failing(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _FAILING, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unexpected_error_is_one_line_without_a_traceback() -> None:
    done = _apf_failing("gcode", "analyze", "part.gcode")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("apf gcode analyze: 'layer_height' (KeyError)")
    assert "--debug" in lines[0]
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback() -> None:
    done = _apf_failing("--debug", "gcode", "analyze", "part.gcode")
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "KeyError: 'layer_height'" in done.stderr


def test_a_missing_module_says_what_to_install() -> None:
    args = argparse.Namespace(command="cloud", cloud_command="serve")
    line = _one_line(args, ModuleNotFoundError("No module", name="litestar"))
    assert "'litestar'" in line and "pip install autoprintfarm-cloud" in line
