"""The demo's live view: fits an 80-column terminal, and writes plain lines elsewhere."""

from __future__ import annotations

import io
from typing import Any

from apf.demo.view import FOOTER, FarmTables, FarmView
from tests.support.render import rendered


def _printer(n: int, **over: Any) -> dict[str, Any]:
    return {
        "id": f"prt_{n}",
        "name": f"printer-with-a-long-name-{n}",
        "status": "printing",
        "firmware": "Marlin 2.1.2.4 (Github) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin",
        "temperatures": {"hotend": 209.6, "bed": 60.1},
        "current_job": f"job_{n}aaaaaaaaaaaaaaaaaaaaaaaa",
        "progress": 42.25,
        **over,
    }


def _job(n: int, **over: Any) -> dict[str, Any]:
    return {
        "id": f"job_{n}aaaaaaaaaaaaaaaaaaaaaaaa",
        "name": f"a-sample-job-with-a-very-long-name-{n}",
        "priority": "urgent",
        "material": {"type": "PETG"},
        "status": "printing",
        "printer_id": f"prt_{n}",
        **over,
    }


def test_at_80_columns_no_line_is_longer_than_80() -> None:
    printers = [_printer(n) for n in range(4)]
    jobs = [_job(n) for n in range(7)]
    text = rendered(FarmTables(printers, jobs), width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    # Two titles, two header rows and their rules, a line per printer and per job, the
    # footer: nothing wrapped onto a second line.
    assert len([line for line in lines if line.strip()]) == 2 + 2 + 2 + 4 + 7 + 1, text
    assert sum("42.2 %" in line for line in lines) == 4, text
    assert "…" in text  # long names are cut, visibly
    assert "firmware" not in text  # the least useful column is dropped at 80 columns
    assert FOOTER in text


def test_a_wide_terminal_shows_every_column() -> None:
    text = rendered(FarmTables([_printer(1)], [_job(1)]), width=160)
    assert "firmware" in text and "job id" in text
    assert "209/60" in text or "210/60" in text


def test_off_a_terminal_one_plain_line_per_change() -> None:
    out = io.StringIO()
    with FarmView(out) as view:
        view.update([_printer(1)], [_job(1)])
        view.update([_printer(1)], [_job(1)])  # nothing changed: nothing written
        view.update([_printer(1, status="idle", current_job=None)], [_job(1, status="completed")])
    lines = out.getvalue().splitlines()
    assert lines[0] == FOOTER
    assert len(lines) == 5, lines
    assert lines[1].startswith("printer printer-with-a-long-name-1: status printing")
    assert lines[3].startswith("printer printer-with-a-long-name-1: status idle")
    assert "status completed" in lines[4]
    assert "\x1b" not in out.getvalue()
