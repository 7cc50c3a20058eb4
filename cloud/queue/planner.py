"""Planning assignments: a pure function from queued jobs and free printers to pairs.

No database, no clock, no I/O: the runner (`cloud.queue.runner`) loads the inputs, calls
`plan`, and applies each pair with a conditional update, so the rules live here alone and
are tested without a server.

The rules (docs/orchestration.md, "The queue"):
1. Jobs are taken in priority order (urgent > high > normal > low), then oldest first, then
   by id so the order is total and the same on every replica.
2. A job naming a printer waits for that printer; it is never placed elsewhere.
3. Any other job goes to a free printer with a matching material: one of the (type, colour)
   pairs the printer can print (its assigned spool, and every filament it reports loaded
   with a type, e.g. each tray of a Bambu AMS) has the job's type and, when the job names
   a colour, that colour. Both are compared as text, blanks around and case ignored
   (`"#ff0000"` matches a tray's `"#FF0000"`; a colour name matches only that name). A job
   that names no material can go to any free printer; a printer with nothing of a known
   type loaded takes only such jobs. A printer listed under several materials is still
   taken once.
4. Among the printers a job fits, it takes one that no waiting pinned job is asking for, so
   an unpinned job does not take the one printer a pinned job can use; then the printer that
   has been free longest (the order the caller lists them in), then by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.enums import Priority


@dataclass(frozen=True, slots=True)
class QueuedJob:
    job_id: str
    priority: Priority
    created_at: datetime
    printer_id: str | None = None
    material_type: str | None = None
    material_color: str | None = None


# What a printer can print with: (type, colour). A pair without a type (an empty AMS tray,
# one the printer cannot identify) is no candidate.
Filament = tuple[str | None, str | None]


@dataclass(frozen=True, slots=True)
class FreePrinter:
    """A printer that is online and idle, with the materials it has loaded."""

    printer_id: str
    materials: tuple[Filament, ...] = ()


@dataclass(frozen=True, slots=True)
class Assignment:
    job_id: str
    printer_id: str


def queue_order(job: QueuedJob) -> tuple[int, datetime, str]:
    return (-job.priority.rank, job.created_at, job.job_id)


def _norm(value: str | None) -> str | None:
    return (value.strip().casefold() or None) if value else None


class _FreePool:
    """The free printers, indexed so each job finds its printer in O(1) on average."""

    def __init__(self, printers: Sequence[FreePrinter], wanted_by_pinned: set[str]) -> None:
        self._free: dict[str, FreePrinter] = {}
        # Candidate lists in preference order: printers no pinned job waits for come first.
        self._by_type: dict[str, list[str]] = {}
        self._by_type_color: dict[tuple[str, str], list[str]] = {}
        self._all: list[str] = []
        ordered = sorted(
            enumerate(printers), key=lambda ip: (ip[1].printer_id in wanted_by_pinned, ip[0])
        )
        for _, printer in ordered:
            if printer.printer_id in self._free:
                continue  # listed twice: keep the first
            self._free[printer.printer_id] = printer
            loaded = [(_norm(kind), _norm(color)) for kind, color in printer.materials]
            # Under each of its types and (type, colour) pairs once; `take` pops it from
            # `_free`, so whichever list it is found through first gets it.
            for kind in dict.fromkeys(kind for kind, _ in loaded if kind):
                self._by_type.setdefault(kind, []).append(printer.printer_id)
            for pair in dict.fromkeys((kind, color) for kind, color in loaded if kind and color):
                self._by_type_color.setdefault(pair, []).append(printer.printer_id)
            self._all.append(printer.printer_id)
        # Each list is consumed from the front through a cursor; taken ids are skipped lazily.
        self._cursor: dict[tuple[str | None, ...], int] = {}

    def __bool__(self) -> bool:
        return bool(self._free)

    def take(self, printer_id: str) -> bool:
        return self._free.pop(printer_id, None) is not None

    def take_matching(self, job: QueuedJob) -> str | None:
        kind, color = _norm(job.material_type), _norm(job.material_color)
        key: tuple[str | None, ...]
        if kind is None:
            key, candidates = (), self._all
        elif color:
            key, candidates = (kind, color), self._by_type_color.get((kind, color), [])
        else:
            key, candidates = (kind,), self._by_type.get(kind, [])
        index = self._cursor.get(key, 0)
        while index < len(candidates):
            printer_id = candidates[index]
            index += 1
            if self.take(printer_id):
                self._cursor[key] = index
                return printer_id
        self._cursor[key] = index
        return None


def plan(jobs: Iterable[QueuedJob], printers: Sequence[FreePrinter]) -> list[Assignment]:
    """Assign queued jobs to free printers by the rules above; each printer at most once."""
    if not printers:
        return []
    ordered = sorted(jobs, key=queue_order)
    wanted_by_pinned = {job.printer_id for job in ordered if job.printer_id is not None}
    pool = _FreePool(printers, wanted_by_pinned)
    assignments: list[Assignment] = []
    for job in ordered:
        if not pool:
            break
        if job.printer_id is not None:
            if pool.take(job.printer_id):
                assignments.append(Assignment(job.job_id, job.printer_id))
            continue
        printer_id = pool.take_matching(job)
        if printer_id is not None:
            assignments.append(Assignment(job.job_id, printer_id))
    return assignments
