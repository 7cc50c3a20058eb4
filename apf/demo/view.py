"""The demo's live view of the printers and the queue.

On a terminal: a `rich.live.Live` pair of tables redrawn in place, fitted to the terminal's
width (columns shrink and end in an ellipsis rather than wrap; the least useful ones are
dropped on narrow terminals). Elsewhere (a pipe, a log): one plain line per printer or job
that changed, with no escape codes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from rich import box
from rich.console import Console, ConsoleOptions, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from apf.console import console_for
from apf.demo.rows import JOB_COLUMNS, PRINTER_COLUMNS, Column, job_rows, printer_rows

if TYPE_CHECKING:
    from rich.console import RenderResult

__all__ = ["FOOTER", "FarmTables", "FarmView"]

FOOTER = "Ctrl-C stops the demo."


class FarmTables:
    """The printers and the queue as tables, built at render time for the width at hand."""

    def __init__(self, printers: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> None:
        self.printers = printer_rows(printers, jobs)
        self.jobs = job_rows(printers, jobs)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        yield Group(
            _table("Printers", PRINTER_COLUMNS, self.printers, width),
            _table("Queue", JOB_COLUMNS, self.jobs, width),
            Text(FOOTER, style="dim", no_wrap=True, overflow="ellipsis"),
        )


def _table(title: str, columns: Sequence[Column], rows: list[list[str]], width: int) -> Table:
    shown = [i for i, column in enumerate(columns) if width >= column.min_terminal]
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        header_style="bold",
        expand=True,
        pad_edge=False,
        show_edge=False,
    )
    for i in shown:
        column = columns[i]
        # no_wrap + ellipsis: a long name is cut, never folded onto a second line.
        table.add_column(
            column.header,
            justify=column.justify,
            ratio=column.ratio,
            no_wrap=True,
            overflow="ellipsis",
        )
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    return table


class FarmView:
    """Shows each poll of the farm: `update` with the API's printers and jobs."""

    def __init__(self, out: TextIO) -> None:
        self.console = console_for(out)
        self._live: Live | None = None
        self._seen: dict[str, str] = {}

    def __enter__(self) -> FarmView:
        if self.console.is_terminal:
            self._live = Live(console=self.console, auto_refresh=False)
            self._live.start()
        else:
            self.console.print(FOOTER)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.stop()

    def update(self, printers: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> None:
        tables = FarmTables(printers, jobs)
        if self._live is not None:
            self._live.update(tables, refresh=True)
            return
        for line in self.changes(tables):
            self.console.print(line, soft_wrap=True)

    def changes(self, tables: FarmTables) -> Iterator[str]:
        """Plain lines for what differs from the last poll: one per printer or job."""
        for kind, columns, rows in (
            ("printer", PRINTER_COLUMNS, tables.printers),
            ("job", JOB_COLUMNS, tables.jobs),
        ):
            for row in rows:
                key = f"{kind} {row[0]}"
                line = f"{key}: " + ", ".join(
                    f"{c.header} {cell}" for c, cell in zip(columns[1:], row[1:], strict=True)
                )
                if self._seen.get(key) != line:
                    self._seen[key] = line
                    yield line
