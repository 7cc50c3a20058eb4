"""The lifecycle is the one writer of the statuses of jobs, print runs, commands and printers.

A source scan: outside `cloud/lifecycle/`, no module of `cloud/` assigns a `status` (or a
job's `hold` or `copies_done`), passes one to a constructor or an UPDATE's `.values()`,
or names the column a printer no longer has. The few `status` fields that belong to other
things (a spool's, a response's, the broker provisioner's) are listed by name; a new one is
a decision to make here, in review.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from cloud.lifecycle.occupancy import ACTIVE_VALUES
from cloud.lifecycle.states import RUN_ACTIVE
from cloud.orchestration.tables import PrintRun

CLOUD = Path(__file__).resolve().parents[3] / "cloud"
OWNER = CLOUD / "lifecycle"
GUARDED = {"status", "hold", "copies_done"}
# (module, target as written): a status that is not a job's, run's, command's or printer's.
OTHER_STATUSES = {
    ("services/materials.py", "material.status"),  # a spool: active, low, empty, archived
    ("orchestration/materials.py", "spool.status"),
    ("api/printers.py", "out.status"),  # the response of a printer action
    ("mqttauth/provisioner.py", "self.status"),  # the broker provisioner's health
}
# Rows whose status is a job's, run's, command's or printer's, and their tables' names.
LIFECYCLE_ROWS = {"Job", "PrintRun", "PrinterCommand", "Printer"}
LIFECYCLE_TABLES = LIFECYCLE_ROWS | {"_JOBS", "_RUNS", "_COMMANDS", "_PRINTERS"}


def _modules() -> list[Path]:
    return [
        path
        for path in CLOUD.rglob("*.py")
        if OWNER not in path.parents and "migrations" not in path.parts
    ]


def _writes(tree: ast.AST, module: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr in GUARDED:
                written = ast.unparse(target)
                if (module, written) not in OTHER_STATUSES:
                    found.append(f"{module}:{target.lineno}: {written} = …")
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            keywords = {k.arg for k in node.keywords if k.arg is not None}
            row = name in LIFECYCLE_ROWS
            if name.endswith(".values"):
                # An UPDATE of another table (webhook deliveries) may set its own status;
                # one whose table is not in sight counts as a lifecycle table's.
                table = re.search(r"update\((\w+)", name)
                row = table is None or table.group(1) in LIFECYCLE_TABLES
            if row and keywords & GUARDED:
                found.append(f"{module}:{node.lineno}: {name}({', '.join(keywords & GUARDED)}=…)")
        if isinstance(node, ast.Attribute) and node.attr == "current_job_id":
            found.append(f"{module}:{node.lineno}: {ast.unparse(node)} (derived, not stored)")
    return found


def test_only_the_lifecycle_writes_statuses() -> None:
    found: list[str] = []
    for path in _modules():
        found += _writes(ast.parse(path.read_text()), str(path.relative_to(CLOUD)))
    assert found == []


def test_the_scan_sees_a_write_where_there_is_one() -> None:
    source = (
        "job.status = 'printing'\n"
        "run.hold = True\n"
        "stmt = update(_JOBS).values(status='idle')\n"
        "stmt = update(_DELIVERIES).values(status='sent')\n"
        "Job(id='x', status='queued')\n"
        "printer.current_job_id\n"
        "material.status = 'low'\n"
    )
    assert len(_writes(ast.parse(source), "services/x.py")) == 6  # a spool elsewhere too
    assert _writes(ast.parse("material.status = 'low'\n"), "services/materials.py") == []


def test_the_active_statuses_agree_everywhere() -> None:
    """The partial unique index, the occupancy queries and the enum say the same."""
    assert set(ACTIVE_VALUES) == {s.value for s in RUN_ACTIVE}
    [index] = [i for i in PrintRun.__table__.indexes if i.name == "ux_prints_active_printer"]  # type: ignore[attr-defined]
    where = str(index.dialect_options["sqlite"]["where"])
    assert where == "status IN (" + ", ".join(f"'{v}'" for v in ACTIVE_VALUES) + ")"
