"""The demo's farm as rows of short texts, from the API's printers and jobs.

One source for both ways the demo shows the farm: the live table on a terminal and the plain
lines written elsewhere (apf/demo/view.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import JustifyMethod

__all__ = ["JOB_COLUMNS", "PRINTER_COLUMNS", "Column", "job_rows", "printer_rows"]


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    # Shown only when the terminal is at least this wide: what matters least goes first.
    min_terminal: int = 0
    # Share of the width left by the fixed columns (rich's `ratio`); None: as wide as its
    # widest cell, for the short words (status, priority) that read badly cut.
    ratio: int | None = None
    justify: JustifyMethod = "left"


PRINTER_COLUMNS = (
    Column("printer", ratio=2),
    Column("status"),
    Column("job", ratio=3),
    Column("done", justify="right"),
    Column("hotend/bed °C", justify="right"),
    Column("firmware", min_terminal=110, ratio=3),
)
JOB_COLUMNS = (
    Column("job id", min_terminal=110, ratio=2),
    Column("name", ratio=3),
    Column("priority"),
    Column("material"),
    Column("status"),
    Column("printer", ratio=2),
)


def printer_rows(printers: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> list[list[str]]:
    """One row per printer, cells in `PRINTER_COLUMNS` order."""
    job_names = {j["id"]: j["name"] for j in jobs}
    rows = []
    for p in printers:
        job_id = p.get("current_job")
        progress = p.get("progress")
        rows.append(
            [
                p["name"],
                p["status"],
                job_names.get(job_id, job_id) if job_id else "-",
                f"{progress:.1f} %" if job_id and progress is not None else "-",
                _temperatures(p),
                p.get("firmware") or "-",
            ]
        )
    return rows


def job_rows(printers: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> list[list[str]]:
    """One row per job, cells in `JOB_COLUMNS` order."""
    names = {p["id"]: p["name"] for p in printers}
    return [
        [
            j["id"],
            j["name"],
            j["priority"],
            (j.get("material") or {}).get("type") or "-",
            j["status"],
            names.get(j.get("printer_id") or "", "-"),
        ]
        for j in jobs
    ]


def _temperatures(printer: dict[str, Any]) -> str:
    temps = printer.get("temperatures") or {}
    hotend, bed = temps.get("hotend"), temps.get("bed")
    if hotend is None and bed is None:
        return "-"
    return f"{hotend or 0:.0f}/{bed or 0:.0f}"
