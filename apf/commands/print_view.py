"""What `apf print` shows while a file prints: progress, ETA, temperatures and status.

On a terminal, a rich progress bar redrawn in place. Elsewhere (a log, CI, a pipe) a plain
line every 10 %, with no escape codes, so the log stays readable and short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from rich.progress import BarColumn, Progress, TaskID, TextColumn

from apf.console import console_for

if TYPE_CHECKING:
    from agent.drivers.base import PrinterSnapshot

__all__ = ["PrintProgress", "clock"]


class PrintProgress:
    """The progress display of one print; `hide` it before prompting or reporting."""

    def __init__(self, out: TextIO) -> None:
        self.console = console_for(out)
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last_decile = -1

    def say(self, line: str) -> None:
        self.console.print(line)

    def show(self, snapshot: PrinterSnapshot) -> None:
        job = snapshot.job
        if job is None:
            return
        status = snapshot.status.value
        elapsed = clock(job.elapsed_s)
        eta = "--:--" if job.remaining_s is None else clock(job.remaining_s)
        temps = _temperatures(snapshot)
        if not self.console.is_terminal:
            decile = int(job.progress_pct // 10)
            if decile > self._last_decile:
                self._last_decile = decile
                line = f"{job.progress_pct:5.1f} %  elapsed {elapsed}  ETA {eta}  {temps}"
                self.say(f"{line.rstrip()}  {status}")
            return
        if self._progress is None or self._task is None:
            self._progress = _progress_bar(self)
            # Every field is given before the first draw: the columns read them.
            self._task = self._progress.add_task(
                "print", total=100.0, status=status, elapsed=elapsed, eta=eta, temps=temps
            )
            self._progress.start()
        # Redrawn when the printer reports, not by rich's timer thread: the elapsed clock
        # moves with each report (at least every half second, see print_with_progress).
        self._progress.update(
            self._task,
            completed=job.progress_pct,
            refresh=True,
            status=status,
            elapsed=elapsed,
            eta=eta,
            temps=temps,
        )

    def hide(self) -> None:
        """Stop redrawing; the bar as last drawn stays on screen above what comes next."""
        if self._progress is not None:
            self._progress.stop()
        self._progress = None
        self._task = None


# What the text columns take beside the bar, with room to spare at the end of the line: a
# line filling the terminal to its last column would wrap when the terminal echoes "^C"
# after it, and the redraw would then leave a copy of the bar behind.
TEXT_COLUMNS_WIDTH = 58


def _progress_bar(view: PrintProgress) -> Progress:
    bar_width = max(10, min(40, view.console.width - TEXT_COLUMNS_WIDTH))
    return Progress(
        TextColumn("{task.fields[status]:<9}", style="bold", markup=False),
        BarColumn(bar_width=bar_width),
        TextColumn("{task.percentage:>5.1f} %"),
        TextColumn("elapsed {task.fields[elapsed]}"),
        TextColumn("ETA {task.fields[eta]}"),
        TextColumn("{task.fields[temps]}"),
        console=view.console,
        auto_refresh=False,
    )


def _temperatures(snapshot: PrinterSnapshot) -> str:
    temps = snapshot.temperatures
    if temps.hotend_c is None:
        return ""
    if temps.bed_c is None:
        return f"{temps.hotend_c:.0f} °C"
    return f"{temps.hotend_c:.0f}/{temps.bed_c:.0f} °C"


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
