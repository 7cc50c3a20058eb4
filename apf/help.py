"""Help pages that say what a command does and show it used.

argparse wraps descriptions and epilogs alike, which would run an example's command line
into its comment; here the description is wrapped by us and the examples are kept as
written (RawDescriptionHelpFormatter prints both verbatim).
"""

from __future__ import annotations

import argparse
import shutil
import textwrap
from typing import Any

__all__ = ["add_command", "help_page"]

MAX_WIDTH = 88


def help_page(description: str, examples: list[str]) -> dict[str, Any]:
    """The keyword arguments that give a parser a wrapped description and an example."""
    width = min(shutil.get_terminal_size((80, 24)).columns - 2, MAX_WIDTH)
    paragraphs = [textwrap.fill(p, width) for p in textwrap.dedent(description).split("\n\n")]
    label = "Example:" if len(examples) == 1 else "Examples:"
    return {
        "description": "\n\n".join(paragraphs),
        "epilog": "\n".join([label, *(f"  {line}" for line in examples)]),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def add_command(
    subparsers: Any,
    name: str,
    *,
    summary: str,
    examples: list[str],
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand: `summary` is its line in the parent's list; `description` (or the
    summary) heads its own help page, followed by the examples."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=summary, **help_page(description or _sentence(summary), examples)
    )
    return parser


def _sentence(summary: str) -> str:
    return summary[:1].upper() + summary[1:] + ("" if summary.endswith(".") else ".")
