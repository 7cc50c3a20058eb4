"""A small farm history written straight into the tables, with hand-computed figures.

Times are on 2025-10-01..04 (UTC); the reports under test ask for `from=2025-10-02` and
`to=2025-10-03`, i.e. [Oct 2 00:00, Oct 4 00:00): 48 h = 172,800 s.

Organization A: printers p1, p2 (group "east"), p3 ("west"), p4 (no group, never prints),
and prints on a printer since deleted ("gone"). Organization B has a busy printer of its own
that must never show up in A's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cloud.db.models import Job, Material, Printer, StoredFileRow
from cloud.orchestration.tables import PrintRun
from shared.enums import Priority

PERIOD = {"from": "2025-10-02", "to": "2025-10-03"}
PERIOD_S = 48 * 3600
SEPT = datetime(2025, 9, 1, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """October `day`, `hour`:`minute` UTC."""
    return datetime(2025, 10, day, tzinfo=UTC) + timedelta(hours=hour, minutes=minute)


def printer(org: str, pid: str, group: str | None, created_at: datetime = SEPT) -> Printer:
    return Printer(
        id=pid,
        org_id=org,
        name=pid,
        status="idle",
        connection_kind="octoprint",
        connection_url="http://10.0.0.1",
        group=group,
        created_at=created_at,
        updated_at=created_at,
    )


def stored_file(org: str) -> StoredFileRow:
    return StoredFileRow(
        id=f"file_{org}", org_id=org, filename="part.gcode", sha256="0" * 64, size_bytes=1
    )


@dataclass
class J:
    id: str
    created: datetime
    status: str
    priority: str = "normal"
    printer_id: str | None = None
    started: datetime | None = None
    completed: datetime | None = None
    material_type: str | None = None
    material_color: str | None = None

    def row(self, org: str) -> Job:
        return Job(
            id=self.id,
            org_id=org,
            name=self.id,
            status=self.status,
            priority=self.priority,
            priority_rank=Priority(self.priority).rank,
            printer_id=self.printer_id,
            file_id=f"file_{org}",
            material_type=self.material_type,
            material_color=self.material_color,
            created_at=self.created,
            updated_at=self.created,
            started_at=self.started,
            completed_at=self.completed,
        )


@dataclass
class P:
    id: str
    job_id: str
    printer_id: str
    status: str
    started: datetime | None
    ended: datetime | None
    grams: float | None = None
    duration_s: float | None = None
    assigned: datetime | None = None

    def row(self, org: str) -> PrintRun:
        assigned = self.assigned or (self.started or at(1)) - timedelta(minutes=5)
        return PrintRun(
            id=self.id,
            org_id=org,
            job_id=self.job_id,
            printer_id=self.printer_id,
            command_id=f"cmd_{self.id}",
            status=self.status,
            assigned_at=assigned,
            started_at=self.started,
            ended_at=self.ended,
            duration_s=self.duration_s,
            filament_used_g=self.grams,
        )


def spool(
    org: str,
    sid: str,
    type_: str,
    color: str | None,
    remaining_g: float,
    *,
    cost: float | None = None,
    printer_id: str | None = None,
    threshold_g: float | None = None,
    status: str = "active",
) -> Material:
    return Material(
        id=sid,
        org_id=org,
        type=type_,
        color=color,
        spool_weight_g=1000.0,
        remaining_weight_g=remaining_g,
        cost_per_kg=cost,
        printer_id=printer_id,
        reorder_threshold_g=threshold_g,
        status=status,
        created_at=SEPT,
        updated_at=SEPT,
    )


JOBS_A = [
    J("jA1", at(1, 20), "completed", "normal", "p1", at(1, 22), at(2, 2), "PLA"),
    J("jA2", at(2, 9), "failed", "high", "p1", at(3, 20), at(4, 3), "PLA"),
    J("jA3", at(2, 9, 30), "completed", "normal", "p2", at(2, 10), at(2, 12)),
    J("jA4", at(2, 12, 30), "failed", "urgent", "p2", at(2, 13), at(2, 14), "pla", "Red"),
    J("jA5", at(2, 14, 30), "cancelled", "low", "p2", at(2, 15), at(2, 15, 30), "PETG"),
    J("jA6", datetime(2025, 9, 29, tzinfo=UTC), "completed", "normal", "p3",
      datetime(2025, 9, 30, tzinfo=UTC), at(1), "PLA"),
    J("jA7", at(3, 22), "printing", "high", "p3", at(3, 23)),
    J("jA8", at(2, 4), "queued", "normal"),
    J("jA10", at(2, 7), "completed", "normal", "gone", at(2, 8), at(2, 9), "PLA", "black"),
    J("jA11", at(3, 10), "queued", "normal"),
]  # fmt: skip

PRINTS_A = [
    # Straddles the period's start: 2 h of it inside.
    P("r1", "jA1", "p1", "completed", at(1, 22), at(2, 2), grams=100.0),
    # Straddles the period's end: 4 h inside; ends after it (not in outcomes or grams).
    P("r2", "jA2", "p1", "failed", at(3, 20), at(4, 3), grams=30.0),
    P("r3", "jA3", "p2", "completed", at(2, 10), at(2, 12), grams=50.0, duration_s=7000.0),
    P("r4", "jA4", "p2", "failed", at(2, 13), at(2, 14), grams=20.0),
    P("r5", "jA5", "p2", "cancelled", at(2, 15), at(2, 15, 30), grams=10.0),
    # Wholly before the period.
    P("r6", "jA6", "p3", "completed", datetime(2025, 9, 30, tzinfo=UTC), at(1), grams=500.0),
    # Still printing: runs until now, so 1 h of it falls inside the period.
    P("r7", "jA7", "p3", "printing", at(3, 23), None),
    # Refused: never started, occupies no time.
    P("r8", "jA8", "p3", "refused", None, at(2, 5, 1), assigned=at(2, 5)),
    # On a printer deleted since: in material reports, not in fleet figures.
    P("r10", "jA10", "gone", "completed", at(2, 8), at(2, 9), grams=40.0),
]


def spools_a(org: str) -> list[Material]:
    return [
        spool(org, "sA1", "PLA", "black", 800.0, cost=20.0, printer_id="p1", threshold_g=100.0),
        spool(org, "sA2", "PETG", "white", 50.0, cost=30.0, printer_id="p2", threshold_g=100.0),
        spool(org, "sA3", "PLA", "red", 1000.0, cost=24.0),
        spool(org, "sA4", "PETG", "blue", 0.0, status="empty"),
        spool(org, "sA5", "PLA", "green", 900.0, cost=22.0, status="archived", threshold_g=950),
    ]


async def seed_farm(session: Any, org_a: str, org_b: str) -> None:
    session.add_all([stored_file(org_a), stored_file(org_b)])
    session.add_all(
        [
            printer(org_a, "p1", "east"),
            printer(org_a, "p2", "east"),
            printer(org_a, "p3", "west"),
            printer(org_a, "p4", None),
        ]
    )
    await session.flush()
    session.add_all([j.row(org_a) for j in JOBS_A])
    session.add_all(spools_a(org_a))
    await session.flush()
    session.add_all([p.row(org_a) for p in PRINTS_A])
    # Organization B: same group name, a heavy print inside the period, a low spool.
    session.add(printer(org_b, "q1", "east"))
    await session.flush()
    session.add(
        J("jB1", at(2, 1), "completed", "normal", "q1", at(2, 2), at(2, 20), "PLA").row(org_b)
    )
    session.add(
        spool(org_b, "sB1", "PLA", "black", 10.0, cost=90.0, printer_id="q1", threshold_g=50)
    )
    await session.flush()
    session.add(P("rB1", "jB1", "q1", "completed", at(2, 2), at(2, 20), grams=900.0).row(org_b))
