"""The one place `apf` makes its rich consoles and tables, so every command looks alike.

rich is imported by the commands that print tables and progress (the agent and cloud
extras install it); `apf --help` and `apf gcode analyze --json` do not need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table

__all__ = ["PIPE_WIDTH", "console_for", "key_value_table", "show", "table"]

# Written to a pipe or a file there is no terminal to fit: wide enough that a table's cells
# (pty paths, firmware strings) do not fold, so `grep` finds them on one line.
PIPE_WIDTH = 200


def console_for(file: TextIO, *, width: int | None = None) -> Console:
    """A console on `file`: colour and the terminal's width on a terminal, plain text (no
    escape codes) otherwise. Markup is off: printer names and firmware strings may hold
    brackets that are not rich markup."""
    tty = file.isatty()
    return Console(
        file=file,
        width=width or (None if tty else PIPE_WIDTH),
        markup=False,
        highlight=False,
        emoji=False,
    )


def show(renderable: RenderableType, file: TextIO) -> None:
    """Print a table (or any renderable) to `file`. Off a terminal, without the spaces rich
    pads each line to the table's width with: they are noise in a file or a diff."""
    console = console_for(file)
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def table(headers: Sequence[str], *, title: str | None = None) -> Table:
    """A table with a bold header row and light rules, one column per header."""
    result = Table(title=title, box=box.SIMPLE_HEAD, header_style="bold", title_justify="left")
    for header in headers:
        result.add_column(header)
    return result


def key_value_table(rows: list[tuple[str, str]]) -> Table:
    """`label: value` lines with the values lined up (a report about one thing)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in rows:
        grid.add_row(f"{label}:", value)
    return grid
