"""docs/orchestration.md shows the lifecycle table as the code has it."""

from __future__ import annotations

from pathlib import Path

from tests.cloud.lifecycle.table import render

DOC = Path(__file__).resolve().parents[3] / "docs" / "orchestration.md"


def test_the_docs_show_the_table_the_code_has() -> None:
    table = render()
    assert table in DOC.read_text(), (
        "docs/orchestration.md's lifecycle table differs from cloud/lifecycle/machine.py; "
        "print it with `python -m tests.cloud.lifecycle.table`:\n" + table
    )


def test_every_allowed_pair_is_a_row() -> None:
    from cloud.lifecycle.machine import RULES

    assert len(render().splitlines()) == len(RULES) + 2
