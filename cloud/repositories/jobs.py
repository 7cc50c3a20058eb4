"""Creating a job: what it must check first, read in one statement (see
`OrgRepository.read`), and the job written with its `job.created` event.

The statements are built once with bound parameters: building them per request cost more
than running them. Each round trip to PostgreSQL costs the API more CPU than the database
spends on the rows (bench/api.py, POST /v1/jobs): the checks are one statement, and the two
rows one statement as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Insert, Table, bindparam, exists, func, insert, select

from cloud.db.core import table_of
from cloud.db.models import Event, Job, Organization, Printer, StoredFileRow
from shared.enums import JobStatus

_ORGS = table_of(Organization)
_JOBS = table_of(Job)
_PRINTERS = table_of(Printer)
_FILES = table_of(StoredFileRow)
_EVENTS = table_of(Event)

ACTIVE_STATUSES = tuple(s.value for s in JobStatus if not s.is_final)

_ACTIVE_JOBS = (
    select(func.count())
    .select_from(_JOBS)
    .where(_JOBS.c.org_id == _ORGS.c.id, _JOBS.c.status.in_(ACTIVE_STATUSES))
    .scalar_subquery()
)
_PRINTER_FOUND = exists().where(
    _PRINTERS.c.id == bindparam("printer_id"), _PRINTERS.c.org_id == _ORGS.c.id
)
# The organization's row, joined with the file when there is one: no row at all means the
# organization is gone; a row with no file columns, that the file is not the organization's.
_FACTS = (
    select(
        _ORGS.c.plan,
        _ACTIVE_JOBS.label("active_jobs"),
        _PRINTER_FOUND.label("printer_found"),
        *(column.label(f"file_{column.name}") for column in _FILES.columns),
    )
    .select_from(_ORGS)
    .outerjoin(_FILES, (_FILES.c.id == bindparam("file_id")) & (_FILES.c.org_id == _ORGS.c.id))
    .where(_ORGS.c.id == bindparam("org_id"))
)


def _insert_of(table: Table, prefix: str) -> Insert:
    """An INSERT of every column from parameters named `prefix` + column name (so two of them
    can run as one statement)."""
    binds = {c.name: bindparam(f"{prefix}{c.name}", type_=c.type) for c in table.columns}
    return insert(table).values(binds)


INSERT_JOB = _insert_of(_JOBS, "job_")
INSERT_EVENT = _insert_of(_EVENTS, "event_")
# PostgreSQL: both rows in one statement. A data-modifying WITH runs to completion whether or
# not the main statement reads it (postgresql.org/docs/current/queries-with.html, "Data-
# Modifying Statements in WITH"); the statement is atomic, so it needs no transaction block.
INSERT_JOB_AND_EVENT = INSERT_JOB.add_cte(INSERT_EVENT.cte("created_event"))


def insert_params(job: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The parameters of `INSERT_JOB`, `INSERT_EVENT` and `INSERT_JOB_AND_EVENT`."""
    params = {f"job_{name}": value for name, value in job.items()}
    params.update((f"event_{name}", value) for name, value in event.items())
    return params


@dataclass(frozen=True, slots=True)
class CreationFacts:
    plan: str | None  # None: the organization no longer exists
    active_jobs: int
    printer_found: bool  # True when no printer was named


def creation_facts(
    conn: Connection, org_id: str, printer_id: str | None, file_id: str | None = None
) -> tuple[CreationFacts, StoredFileRow | None]:
    """What creating a job checks, and the organization's stored file `file_id` (None: not
    asked, or not the organization's; the row is detached: read its fields)."""
    params = {"org_id": org_id, "printer_id": printer_id, "file_id": file_id}
    row = conn.execute(_FACTS, params).first()
    if row is None:
        return CreationFacts(plan=None, active_jobs=0, printer_found=False), None
    facts = CreationFacts(
        plan=row.plan,
        active_jobs=int(row.active_jobs or 0),
        printer_found=printer_id is None or bool(row.printer_found),
    )
    values = row._mapping
    if file_id is None or values["file_id"] is None:
        return facts, None
    return facts, StoredFileRow(**{c.name: values[f"file_{c.name}"] for c in _FILES.columns})
